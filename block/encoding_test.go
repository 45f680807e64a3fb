package block

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

var allEncodings = []ChunkEncoding{EncodingXOR, EncodingXOR2, EncodingDense}

// specialSeries is one series whose samples hold every float64 that a
// lossy path would change: NaN payloads, the stale marker, ±Inf, -0,
// subnormals, decimals and irrationals.
func specialSeries(t testing.TB) model.ChunkSeries {
	vals := []float64{
		0.1, 0.25, math.Float64frombits(0x7ff0000000000002), math.NaN(),
		math.Float64frombits(0x7ff8dead00000001), math.Float64frombits(0xfff0000000000001),
		math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64,
		math.MaxFloat64, -math.MaxFloat64, math.Pi, 1e300, 123456789.125, -42,
	}
	var ss []sample
	for i, v := range vals {
		ss = append(ss, sample{testMint + int64(i)*15_000 + int64(i%3), v})
	}
	return model.ChunkSeries{Labels: labels.FromStrings("__name__", "special"), Chunks: []model.Chunk{buildChunk(t, ss)}}
}

// encodingSeries are random walks plus the special series, sorted.
func encodingSeries(t testing.TB) []model.ChunkSeries {
	series := genSeries(t, rand.New(rand.NewSource(3)), 30, testMint, testMaxt, 15_000, 3)
	series = append(series, specialSeries(t))
	slices.SortFunc(series, func(x, y model.ChunkSeries) int { return labels.Compare(x.Labels, y.Labels) })
	return series
}

// requireSameSamples fails unless got holds the series of want with the
// same timestamps and value bits.
func requireSameSamples(t *testing.T, want, got []model.ChunkSeries) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d", len(got), len(want))
	}
	for i := range want {
		if !labels.Equal(got[i].Labels, want[i].Labels) {
			t.Fatalf("series %d: got %s, want %s", i, got[i].Labels, want[i].Labels)
		}
		w, g := samplesOf(t, want[i]), samplesOf(t, got[i])
		if len(g) != len(w) {
			t.Fatalf("%s: got %d samples, want %d", want[i].Labels, len(g), len(w))
		}
		for j := range w {
			if g[j].T != w[j].T || math.Float64bits(g[j].V) != math.Float64bits(w[j].V) {
				t.Fatalf("%s sample %d: got (%d, %#x), want (%d, %#x)", want[i].Labels, j,
					g[j].T, math.Float64bits(g[j].V), w[j].T, math.Float64bits(w[j].V))
			}
		}
	}
}

// TestWriteEncodings writes one block per encoding and reads it back with
// our reader: every sample bit-exact, meta.json marked, the segment
// encoding byte the one documented.
func TestWriteEncodings(t *testing.T) {
	series := encodingSeries(t)
	wantByte := map[ChunkEncoding]pchunkenc.Encoding{EncodingXOR: pchunkenc.EncXOR, EncodingXOR2: pchunkenc.EncXOR2, EncodingDense: EncDense}
	for _, enc := range allEncodings {
		t.Run(string(enc), func(t *testing.T) {
			dir := t.TempDir()
			m := writeTestBlock(t, dir, series, WriteOptions{Encoding: enc})
			if got := m.ChunkEncoding(); got != enc {
				t.Fatalf("meta chunk encoding %q, want %q", got, enc)
			}
			bdir := filepath.Join(dir, m.ULID.String())
			reread, err := ReadMeta(bdir)
			if err != nil {
				t.Fatal(err)
			}
			if got := reread.ChunkEncoding(); got != enc {
				t.Fatalf("meta.json chunk encoding %q, want %q", got, enc)
			}
			b, err := Open(bdir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got, err := b.Select(context.Background(), testMint, testMaxt)
			if err != nil {
				t.Fatal(err)
			}
			requireSameSamples(t, series, got)
			for _, e := range segmentEncodings(t, bdir) {
				if e != wantByte[enc] {
					t.Fatalf("segment chunk encoding %d, want %d", e, wantByte[enc])
				}
			}
		})
	}
}

// segmentEncodings returns the encoding byte of every chunk of a block,
// read with the Prometheus readers (which know XOR and XOR2, and are given
// the dense encoding through segmentPool).
func segmentEncodings(t *testing.T, bdir string) []pchunkenc.Encoding {
	t.Helper()
	ir, err := index.NewFileReader(filepath.Join(bdir, IndexFilename), index.DecodePostingsRaw)
	if err != nil {
		t.Fatal(err)
	}
	defer ir.Close()
	cr, err := chunks.NewDirReader(filepath.Join(bdir, ChunksDirname), segmentPool{pchunkenc.NewPool()})
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	n, v := index.AllPostingsKey()
	p, err := ir.Postings(context.Background(), n, v)
	if err != nil {
		t.Fatal(err)
	}
	var out []pchunkenc.Encoding
	var sb labels.ScratchBuilder
	var metas []chunks.Meta
	for p.Next() {
		if err := ir.Series(p.At(), &sb, &metas); err != nil {
			t.Fatal(err)
		}
		for _, m := range metas {
			c, _, err := cr.ChunkOrIterable(m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c.Encoding())
		}
	}
	return out
}

// TestXOR2ReadByPrometheus decodes the chunks of an xor2 block with the
// Prometheus XOR2 iterator itself, not through our conversion.
func TestXOR2ReadByPrometheus(t *testing.T) {
	want := specialSeries(t)
	se, err := newSegmentEncoder(EncodingXOR2, nil)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := se.encode(nil, want.Chunks[0])
	if err != nil || len(metas) != 1 {
		t.Fatalf("%d xor2 chunks, err %v", len(metas), err)
	}
	pc, err := pchunkenc.FromData(pchunkenc.EncXOR2, metas[0].Chunk.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	it := pc.Iterator(nil)
	ws := samplesOf(t, want)
	i := 0
	for it.Next() == pchunkenc.ValFloat {
		ts, v := it.At()
		if i >= len(ws) || ts != ws[i].T || math.Float64bits(v) != math.Float64bits(ws[i].V) {
			t.Fatalf("sample %d: Prometheus read (%d, %#x)", i, ts, math.Float64bits(v))
		}
		i++
	}
	if it.Err() != nil || i != len(ws) {
		t.Fatalf("Prometheus read %d of %d samples, err %v", i, len(ws), it.Err())
	}
}

// TestDenseChunkGolden pins the bytes of a dense segment chunk small enough
// to be stored without zstd (docs/format/dense.md), and reads them back.
func TestDenseChunkGolden(t *testing.T) {
	ch := buildChunk(t, []sample{{testMint, 1}, {testMint + 15000, 2}, {testMint + 30000, 3}, {testMint + 45000, 3.5}})
	se, err := newSegmentEncoder(EncodingDense, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer se.Close()
	sc := encodeOne(t, se, ch)
	const golden = "000400040080c0b884fa62b0ea01020101001414140a"
	if got := hex.EncodeToString(sc.Bytes()); got != golden {
		t.Fatalf("dense chunk %s, want %s", got, golden)
	}
	xor, err := denseToXOR(sc.Bytes(), func() (*zstdCodec, error) { return nil, errors.New("no zstd needed") })
	if err != nil {
		t.Fatal(err)
	}
	if string(xor) != string(ch.Data) {
		t.Fatalf("back to XOR: %x, want %x", xor, ch.Data)
	}
}

// TestDenseChunkCompressed checks that a long chunk is stored compressed
// and comes back bit-exact.
func TestDenseChunkCompressed(t *testing.T) {
	var ss []sample
	for i := range 480 {
		ss = append(ss, sample{testMint + int64(i)*15000, float64(i/10) * 0.5})
	}
	ch := buildChunk(t, ss)
	se, err := newSegmentEncoder(EncodingDense, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer se.Close()
	sc := encodeOne(t, se, ch)
	if flag := sc.Bytes()[2]; flag != denseZstd {
		t.Fatalf("flag %d, want zstd (%d); %d bytes", flag, denseZstd, len(sc.Bytes()))
	}
	if len(sc.Bytes()) >= len(ch.Data) {
		t.Fatalf("dense chunk %d bytes, XOR %d", len(sc.Bytes()), len(ch.Data))
	}
	xor, err := denseToXOR(sc.Bytes(), func() (*zstdCodec, error) { return se.zstd, nil })
	if err != nil {
		t.Fatal(err)
	}
	if string(xor) != string(ch.Data) {
		t.Fatal("round trip through the compressed dense chunk changed the XOR bytes")
	}
}

// TestDenseCorruptChunk damages dense chunk bodies: the conversion fails
// with an error wrapping ErrCorrupt.
func TestDenseCorruptChunk(t *testing.T) {
	ch := buildChunk(t, []sample{{testMint, 1}, {testMint + 15000, 2}})
	bad := segmentChunk{enc: EncDense, data: []byte{0, 2, 7, 0}}
	_, err := denseToXOR(bad.data, nil)
	if !errors.Is(err, chunkenc.ErrCorrupt) {
		t.Fatalf("flag 7: %v, want ErrCorrupt", err)
	}
	// Header count disagreeing with the body.
	se, _ := newSegmentEncoder(EncodingDense, nil)
	defer se.Close()
	sc := encodeOne(t, se, ch)
	b := slices.Clone(sc.Bytes())
	b[1] = 3
	if _, err := denseToXOR(b, func() (*zstdCodec, error) { return se.zstd, nil }); !errors.Is(err, chunkenc.ErrCorrupt) {
		t.Fatalf("count 3 for 2 samples: %v, want ErrCorrupt", err)
	}
}

func TestParseChunkEncoding(t *testing.T) {
	for _, s := range []string{"", "xor", "xor2", "dense"} {
		if _, err := ParseChunkEncoding(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ParseChunkEncoding("zstd"); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("zstd: %v, want ErrUnknownEncoding", err)
	}
	if _, err := parseMeta([]byte(`{"version":1,"gorilla":{"chunk_encoding":"lz4"}}`)); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("meta with lz4: %v, want ErrUnknownEncoding", err)
	}
}

// FuzzDenseChunk feeds arbitrary bytes to the dense chunk decoder: no
// panic, and every error wraps ErrCorrupt.
func FuzzDenseChunk(f *testing.F) {
	se, err := newSegmentEncoder(EncodingDense, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer se.Close()
	for _, s := range encodingSeries(f) {
		for _, c := range s.Chunks {
			f.Add(encodeOne(f, se, c).Bytes())
		}
	}
	z := func() (*zstdCodec, error) { return se.zstd, nil }
	f.Fuzz(func(t *testing.T, b []byte) {
		xor, err := denseToXOR(b, z)
		if err != nil {
			if !errors.Is(err, chunkenc.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		it := chunkenc.NewIterator(xor)
		for it.Next() {
		}
		if it.Err() != nil {
			t.Fatalf("converted chunk does not decode: %v", it.Err())
		}
	})
}

// encodeOne encodes c into exactly one segment chunk.
func encodeOne(tb testing.TB, se *segmentEncoder, c model.Chunk) pchunkenc.Chunk {
	tb.Helper()
	metas, err := se.encode(nil, c)
	if err != nil || len(metas) != 1 {
		tb.Fatalf("encoded into %d chunks, err %v", len(metas), err)
	}
	return metas[0].Chunk
}

// TestXOR2CutsChunks: an xor2 block holds chunks of at most 120 samples
// with their own time ranges, and the block reads back whole.
func TestXOR2CutsChunks(t *testing.T) {
	var ss []sample
	for i := range 250 {
		ss = append(ss, sample{testMint + int64(i)*15000, float64(i)})
	}
	series := []model.ChunkSeries{{Labels: labels.FromStrings("__name__", "long"), Chunks: []model.Chunk{buildChunk(t, ss)}}}
	se, err := newSegmentEncoder(EncodingXOR2, nil)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := se.encode(nil, series[0].Chunks[0])
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int64
	for _, m := range metas {
		got = append(got, [2]int64{m.MinTime, m.MaxTime})
	}
	want := [][2]int64{{testMint, testMint + 119*15000}, {testMint + 120*15000, testMint + 239*15000}, {testMint + 240*15000, testMint + 249*15000}}
	if !slices.Equal(got, want) {
		t.Fatalf("xor2 chunk ranges %v, want %v", got, want)
	}
	dir := t.TempDir()
	m := writeTestBlock(t, dir, series, WriteOptions{Encoding: EncodingXOR2})
	if m.Stats.NumChunks != 3 || m.Stats.NumSamples != 250 {
		t.Fatalf("stats %+v, want 3 chunks of 250 samples", m.Stats)
	}
	b, err := Open(filepath.Join(dir, m.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sel, err := b.Select(context.Background(), testMint, testMaxt)
	if err != nil {
		t.Fatal(err)
	}
	requireSameSamples(t, series, sel)
}

// dictSeries are 400 series scraped together, the case a block dictionary
// pays off for: every series repeats the same jittered timestamps.
func dictSeries(t *testing.T) []model.ChunkSeries {
	rng := rand.New(rand.NewSource(9))
	jitter := make([]int64, 240)
	for j := range jitter {
		jitter[j] = rng.Int63n(40)
	}
	var out []model.ChunkSeries
	for i := range 400 {
		var ss []sample
		for j := range 240 {
			ss = append(ss, sample{testMint + int64(j)*15000 + jitter[j], float64(1000*i+j*(i%7)) / 100})
		}
		out = append(out, model.ChunkSeries{
			Labels: labels.FromStrings("__name__", "m", "instance", fmt.Sprintf("host-%04d", i)),
			Chunks: []model.Chunk{buildChunk(t, ss)},
		})
	}
	return out
}

// TestDenseDictionary: a dense block of many similar series gets a
// dictionary file, listed in meta.json and needed to read its chunks.
func TestDenseDictionary(t *testing.T) {
	series := dictSeries(t)
	dir := t.TempDir()
	m := writeTestBlock(t, dir, series, WriteOptions{Encoding: EncodingDense})
	bdir := filepath.Join(dir, m.ULID.String())
	fi, err := os.Stat(filepath.Join(bdir, DictFilename))
	if err != nil {
		t.Fatalf("no dictionary: %v", err)
	}
	if !slices.Contains(m.Thanos.Files, File{RelPath: DictFilename, SizeBytes: fi.Size()}) {
		t.Fatalf("meta.json files %v do not list %s", m.Thanos.Files, DictFilename)
	}
	b, err := Open(bdir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Select(context.Background(), testMint, testMaxt)
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	requireSameSamples(t, series, got)

	// Without the dictionary the chunks cannot be read.
	if err := os.Remove(filepath.Join(bdir, DictFilename)); err != nil {
		t.Fatal(err)
	}
	b, err = Open(bdir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Select(context.Background(), testMint, testMaxt)
	var ce *ChunkError
	if !errors.As(err, &ce) || !errors.Is(err, chunkenc.ErrCorrupt) {
		t.Fatalf("read without the dictionary: %v, want a *ChunkError wrapping ErrCorrupt", err)
	}
}

// TestDenseNoDictionaryForRandomData: a dictionary that would not pay for
// its bytes is not written.
func TestDenseNoDictionaryForRandomData(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	var series []model.ChunkSeries
	for i := range 100 {
		var ss []sample
		for j := range 30 {
			ss = append(ss, sample{testMint + int64(j)*15000 + rng.Int63n(1000), math.Float64frombits(rng.Uint64())})
		}
		series = append(series, model.ChunkSeries{
			Labels: labels.FromStrings("__name__", "r", "i", fmt.Sprintf("%03d", i)),
			Chunks: []model.Chunk{buildChunk(t, ss)},
		})
	}
	dir := t.TempDir()
	m := writeTestBlock(t, dir, series, WriteOptions{Encoding: EncodingDense})
	if _, err := os.Stat(filepath.Join(dir, m.ULID.String(), DictFilename)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dictionary for random data: %v", err)
	}
}
