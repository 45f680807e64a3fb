package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// seedChunks returns real chunks for the fuzz corpora.
func seedChunks(tb testing.TB) [][]byte {
	var out [][]byte
	for _, ss := range shapes() {
		out = append(out, encode(tb, ss).Bytes())
	}
	for _, ss := range goldenCases() {
		out = append(out, encode(tb, ss).Bytes())
	}
	return out
}

// FuzzIterator feeds arbitrary bytes to the decoder: it must not panic,
// must stop after at most the announced number of samples, and must report
// an error whenever it stops short. Where the Prometheus decoder also reads
// samples, the common prefix must agree.
func FuzzIterator(f *testing.F) {
	for _, b := range seedChunks(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
		flipped := append([]byte(nil), b...)
		flipped[len(flipped)*2/3] ^= 0x5a
		f.Add(flipped)
		more := append([]byte(nil), b...)
		more[1]++
		f.Add(more)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decode(b)
		if len(b) < headerSize {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		total := int(binary.BigEndian.Uint16(b))
		require.LessOrEqual(t, len(got), total)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
		} else {
			require.Len(t, got, total)
		}

		theirs := promDecodeSafe(t, b)
		n := min(len(got), len(theirs))
		requireSamples(t, theirs[:n], got[:n])

		// MinMaxTime agrees with the decoded samples.
		c, cerr := FromBytes(b)
		require.NoError(t, cerr)
		_, _, mmErr := c.MinMaxTime()
		require.Equal(t, err == nil, mmErr == nil)

		// A valid chunk resumes, and the added sample follows the old ones.
		if err != nil || total == MaxSamples {
			return
		}
		app, err := c.Appender()
		require.NoError(t, err)
		require.NoError(t, app.Append(12345, 6.5))
		after, err := decode(c.Bytes())
		require.NoError(t, err)
		requireSamples(t, append(got, sample{12345, 6.5}), after)
	})
}

// promDecodeSafe decodes with the Prometheus reference, keeping the samples
// read before it fails or panics on hostile input.
func promDecodeSafe(t *testing.T, b []byte) (out []sample) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Logf("reference decoder panicked: %v", r)
		}
	}()
	out, _ = promDecode(t, b)
	return out
}

// samplesFromBytes turns fuzz input into samples: per sample, one control
// byte picks how the timestamp and value move, so that every delta-of-delta
// bucket and XOR window case is reachable.
func samplesFromBytes(data []byte) []sample {
	var (
		out []sample
		t   int64 = 1_700_000_000_000
		v   uint64
	)
	take := func(n int) uint64 {
		var buf [8]byte
		copy(buf[:], data[:min(n, len(data))])
		data = data[min(n, len(data)):]
		return binary.LittleEndian.Uint64(buf[:])
	}
	for len(data) > 0 && len(out) < 2000 {
		ctl := byte(take(1))
		switch ctl & 3 {
		case 0:
			t += 15000 + int64(int8(take(1)))
		case 1:
			t += int64(int16(take(2)))
		case 2:
			t += int64(int32(take(4)))
		default:
			t = int64(take(8))
		}
		switch (ctl >> 2) & 3 {
		case 0:
		case 1:
			v = math.Float64bits(math.Float64frombits(v) + float64(int8(take(1))))
		case 2:
			v = take(8)
		default:
			v ^= take(1) << (ctl >> 4 * 4)
		}
		out = append(out, sample{t, math.Float64frombits(v)})
	}
	return out
}

// FuzzRoundTrip encodes arbitrary samples: they must decode bit-exact with
// both decoders, match the Prometheus encoder byte for byte, and resuming
// midway must not change the bytes.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 1, 4, 2, 5, 9, 7, 3, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 14, 0xff, 0x8f, 0x12})
	f.Add([]byte(fmt.Sprint(math.Pi, math.E, staleNaN)))
	for _, b := range seedChunks(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ss := samplesFromBytes(data)
		c := encode(t, ss)
		ours := c.Bytes()
		require.Equal(t, promEncode(t, ss), ours)

		got, err := decode(ours)
		require.NoError(t, err)
		requireSamples(t, ss, got)
		got, err = promDecode(t, ours)
		require.NoError(t, err)
		requireSamples(t, ss, got)

		cut := len(ss) / 2
		rc := encode(t, ss[:cut])
		app, err := rc.Appender()
		require.NoError(t, err)
		for _, s := range ss[cut:] {
			require.NoError(t, app.Append(s.t, s.v))
		}
		require.Equal(t, ours, rc.Bytes())
	})
}
