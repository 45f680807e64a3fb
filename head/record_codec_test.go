package head

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// headCodecs returns a fresh instance of each of the head's WAL codecs.
func headCodecs(t testing.TB) []wal.Codec {
	var out []wal.Codec
	for _, name := range []string{"snappy", "zstd"} {
		c, err := WALCodec(name)
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

func TestWALCodecNames(t *testing.T) {
	c, err := WALCodec("none")
	require.NoError(t, err)
	require.Nil(t, c)
	ids := map[string]uint8{"snappy": walCodecSnappy, "zstd": walCodecZstd}
	for name, id := range ids {
		c, err := WALCodec(name)
		require.NoError(t, err)
		require.Equal(t, id, c.ID(), name)
	}
	_, err = WALCodec("lz4")
	require.ErrorContains(t, err, "lz4")
}

// codecInputs are inputs to compress: repetitive, random, and a real
// series record.
func codecInputs() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 5000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var series []seriesRecord
	for i := range 500 {
		series = append(series, seriesRecord{Ref: model.SeriesRef(i + 1), Labels: benchLabels(i)})
	}
	return [][]byte{{1}, bytes.Repeat([]byte("abc"), 10_000), random, encodeSeries(nil, series)}
}

// TestWALCodecsRoundTrip compresses and decompresses each input with each
// codec, after a prefix already in dst, and checks the decoding limit.
func TestWALCodecsRoundTrip(t *testing.T) {
	for _, c := range headCodecs(t) {
		for i, in := range codecInputs() {
			enc := c.Encode([]byte("prefix"), in)
			require.Equal(t, "prefix", string(enc[:6]), "codec %d input %d: Encode keeps dst", c.ID(), i)
			dec, err := c.Decode([]byte("dst"), enc[6:], len(in))
			require.NoError(t, err, "codec %d input %d", c.ID(), i)
			require.Equal(t, "dst", string(dec[:3]))
			require.True(t, bytes.Equal(in, dec[3:]), "codec %d input %d decodes to what was encoded", c.ID(), i)
			_, err = c.Decode(nil, enc[6:], len(in)-1)
			require.Error(t, err, "codec %d input %d: one byte over the limit", c.ID(), i)
			_, err = c.Decode(nil, enc[6:len(enc)-1], len(in))
			if i > 0 { // a one-byte input may still decode when cut
				require.Error(t, err, "codec %d input %d: a cut encoding", c.ID(), i)
			}
		}
		if series := codecInputs()[3]; c.ID() == walCodecZstd {
			require.Less(t, len(c.Encode(nil, series)), len(series)/5, "zstd takes series records below a fifth")
		}
	}
}

// TestReplayAcrossCompressions writes a head's WAL and checkpoints under
// each compression setting in turn, restarting between them: every restart
// replays the records of every earlier setting, so the setting can change
// at will.
func TestReplayAcrossCompressions(t *testing.T) {
	dir := t.TempDir()
	lset := series("compressed", "job", "wal")
	var want []model.Sample
	ts := int64(0)
	for _, name := range []string{"none", "zstd", "snappy", "zstd", "none"} {
		codec, err := WALCodec(name)
		require.NoError(t, err)
		opts := Options{Dir: dir, MaintenanceInterval: -1, Stripes: 16}
		opts.WAL.Compression = codec
		h, err := Open(opts)
		require.NoError(t, err, "open with %s after the earlier settings", name)
		requireSamples(t, want, mustRange(t, h, lset))
		for range 3 {
			app := h.Appender()
			for range 100 {
				v := float64(ts) / 7
				_, err := app.Append(0, lset, ts, v)
				require.NoError(t, err)
				want = append(want, model.Sample{T: ts, V: v})
				ts += 15_000
			}
			require.NoError(t, app.Commit())
		}
		if name != "none" {
			// The checkpoint is compressed too, and the next start reads
			// it under another setting.
			require.NoError(t, h.Checkpoint(context.Background()))
		}
		require.NoError(t, h.Close())
	}
}

// TestGoldenZstdSegment decodes testdata/wal_zstd_segment.hex, a WAL
// segment written with the head's zstd codec holding a type 1 series
// record and a packed samples record: they must replay to the series and
// samples that made them, however a later zstd library would encode them.
// Regenerate with go test ./head/ -run TestGoldenZstdSegment -update.
func TestGoldenZstdSegment(t *testing.T) {
	const path = "testdata/wal_zstd_segment.hex"
	var series []seriesRecord
	var samples []sampleRecord
	for i := range 50 {
		series = append(series, seriesRecord{Ref: model.SeriesRef(i + 1), Labels: benchLabels(i)})
		samples = append(samples, sampleRecord{Ref: model.SeriesRef(i + 1), T: 1_700_000_000_000, V: float64(i) / 4})
	}
	if *update {
		dir := t.TempDir()
		c, err := WALCodec("zstd")
		require.NoError(t, err)
		w, err := wal.Open(dir, wal.Options{Compression: c})
		require.NoError(t, err)
		require.NoError(t, w.Log(encodeSeriesV1(nil, series), encodeSamples(nil, samples)))
		require.NoError(t, w.Close())
		raw, err := os.ReadFile(filepath.Join(dir, "00000000"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, []byte(formatHex(raw)), 0o644))
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create")
	seg := decodeHexFile(t, raw)
	require.Equal(t, byte(walCodecZstd<<4), seg[3]&0xf0, "the first frame is compressed with zstd")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00000000"), seg, 0o644))
	r, err := wal.NewReader(dir, 0, -1, headCodecs(t)...)
	require.NoError(t, err)
	defer r.Close()
	var b labels.ScratchBuilder
	require.True(t, r.Next(), "series record: %v", r.Err())
	gotSeries, err := decodeSeries(r.Record(), nil, &b)
	require.NoError(t, err)
	require.Len(t, gotSeries, len(series))
	for i := range series {
		require.Equal(t, series[i].Ref, gotSeries[i].Ref)
		require.True(t, labels.Equal(series[i].Labels, gotSeries[i].Labels))
	}
	require.True(t, r.Next(), "samples record: %v", r.Err())
	gotSamples, err := decodeSamples(r.Record(), nil)
	require.NoError(t, err)
	equalSamples(t, samples, gotSamples)
	require.False(t, r.Next())
	require.NoError(t, r.Err())
}

// decodeHexFile decodes a golden file of whitespace-separated hex.
func decodeHexFile(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out []byte
	for _, f := range bytes.Fields(raw) {
		for i := 0; i+1 < len(f); i += 2 {
			var v byte
			for _, c := range f[i : i+2] {
				switch {
				case c >= '0' && c <= '9':
					v = v<<4 | (c - '0')
				case c >= 'a' && c <= 'f':
					v = v<<4 | (c - 'a' + 10)
				default:
					t.Fatalf("bad hex digit %q", c)
				}
			}
			out = append(out, v)
		}
	}
	return out
}

// FuzzWALCodecs decodes arbitrary bytes with each codec: errors are fine,
// panics and output over the limit are not; and the bytes, compressed,
// decode back to themselves.
func FuzzWALCodecs(f *testing.F) {
	for _, in := range codecInputs() {
		f.Add(in)
		for _, c := range headCodecs(f) {
			f.Add(c.Encode(nil, in))
		}
	}
	codecs := headCodecs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		for _, c := range codecs {
			if out, err := c.Decode(nil, data, limit); err == nil {
				require.LessOrEqual(t, len(out), limit, "codec %d", c.ID())
			}
			if len(data) == 0 {
				continue
			}
			out, err := c.Decode(nil, c.Encode(nil, data), math.MaxInt32)
			require.NoError(t, err, "codec %d", c.ID())
			require.True(t, bytes.Equal(data, out), "codec %d round trip", c.ID())
		}
	})
}

// TestWALCodecsConcurrent uses one instance of each codec from several
// goroutines at once, as concurrent commits do, the first use included.
func TestWALCodecsConcurrent(t *testing.T) {
	inputs := codecInputs()
	for _, c := range headCodecs(t) {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 20 {
					in := inputs[(g+i)%len(inputs)]
					out, err := c.Decode(nil, c.Encode(nil, in), len(in))
					if err != nil || !bytes.Equal(in, out) {
						t.Errorf("codec %d goroutine %d: round trip %d failed: %v", c.ID(), g, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
