package head

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// encodeSamplesV1 appends a samples record of type recSamples, the
// encoding the head wrote before recSamplesPacked: refs and timestamps as
// signed deltas from the first sample, values as raw 8-byte floats. The
// head no longer writes it; tests use it to prove that such records, still
// found in WALs and checkpoints on disk, replay.
func encodeSamplesV1(b []byte, samples []sampleRecord) []byte {
	b = append(b, recSamples)
	b = binary.AppendUvarint(b, uint64(len(samples)))
	if len(samples) == 0 {
		return b
	}
	first := samples[0]
	b = binary.AppendUvarint(b, uint64(first.Ref))
	b = binary.AppendVarint(b, first.T)
	for _, s := range samples {
		b = binary.AppendVarint(b, int64(s.Ref)-int64(first.Ref))
		b = binary.AppendVarint(b, s.T-first.T)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.V))
	}
	return b
}

// packedValues are values of every tag, and the edge cases between them.
func packedValues() []float64 {
	return []float64{
		0, 1, -1, 42, 1e15, -(1 << 53) + 1, 1 << 53, // integers, and the first that is not one
		0.5, -12.3, 123.45, 99999.99, 0.001, -7.125, 1e-4, // decimals: 1, 2, 3 digits, then too many
		0.1 + 0.2, 1.0 / 3, math.Pi, // no short decimal
		math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.NaN(), math.Float64frombits(model.StaleNaN), math.Float64frombits(0x7ff8000000000123),
		float64(float32(0.1)), 3.0e38,
	}
}

// TestPackedSamplesExact round-trips values of every tag bit for bit, at
// refs and times that move back and forth.
func TestPackedSamplesExact(t *testing.T) {
	var in []sampleRecord
	for i, v := range packedValues() {
		ref := model.SeriesRef(1000 + i*7%5)
		in = append(in, sampleRecord{Ref: ref, T: 1_700_000_000_000 - int64(i%3)*15_000, V: v})
	}
	in = append(in, sampleRecord{Ref: 1 << 62, T: math.MinInt64, V: 2}, sampleRecord{Ref: 0, T: math.MaxInt64, V: 3})
	rec := encodeSamples(nil, in)
	require.Equal(t, recSamplesPacked, rec[0])
	require.Equal(t, recSamples, recordType(rec))
	got, err := decodeSamples(rec, nil)
	require.NoError(t, err)
	require.Len(t, got, len(in))
	for i := range in {
		require.Equal(t, in[i].Ref, got[i].Ref, "sample %d ref", i)
		require.Equal(t, in[i].T, got[i].T, "sample %d time", i)
		require.Equal(t, math.Float64bits(in[i].V), math.Float64bits(got[i].V), "sample %d value %v", i, in[i].V)
	}
}

// TestPackedValueSizes pins the bytes each kind of value costs, the point
// of the encoding: what an exporter's counters and gauges send.
func TestPackedValueSizes(t *testing.T) {
	for _, c := range []struct {
		v    float64
		size int
	}{
		{0, 1}, {7, 1}, {8, 2}, {1_000_000, 4}, {-3, 1},
		{0.5, 1}, {123.45, 3}, {0.001, 1}, {99999.99, 4},
		{float64(float32(0.1)), 5}, {math.Copysign(0, -1), 5},
		{math.Pi, 9}, {math.NaN(), 9}, {1 << 53, 5},
	} {
		got := len(appendValue(nil, c.v))
		require.Equal(t, c.size, got, "value %v", c.v)
	}
}

// TestSamplesV1StillDecode decodes records of the encoding the head wrote
// before the packed one, as a WAL or checkpoint on disk holds them.
func TestSamplesV1StillDecode(t *testing.T) {
	var in []sampleRecord
	for i, v := range packedValues() {
		in = append(in, sampleRecord{Ref: model.SeriesRef(5 + i), T: int64(i) * 15_000, V: v})
	}
	rec := encodeSamplesV1(nil, in)
	require.Equal(t, recSamples, rec[0])
	got, err := decodeSamples(rec, nil)
	require.NoError(t, err)
	require.Len(t, got, len(in))
	for i := range in {
		require.Equal(t, in[i].Ref, got[i].Ref)
		require.Equal(t, in[i].T, got[i].T)
		require.Equal(t, math.Float64bits(in[i].V), math.Float64bits(got[i].V))
	}
}

// FuzzPackedSamples decodes arbitrary bytes as a packed samples record:
// errors are fine, panics are not, and whatever decodes must encode to a
// record that decodes to the same samples, bit for bit. The same bytes,
// read as samples, must also survive both encodings unchanged, and the two
// encodings must decode to the same samples (a differential check against
// the raw encoding).
func FuzzPackedSamples(f *testing.F) {
	var seed []sampleRecord
	for i, v := range packedValues() {
		seed = append(seed, sampleRecord{Ref: model.SeriesRef(i), T: int64(i), V: v})
	}
	f.Add(encodeSamples(nil, seed))
	f.Add(encodeSamples(nil, nil))
	f.Add([]byte{recSamplesPacked, 1, 0, 0, 0, 0, 0x0d})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := append([]byte{recSamplesPacked}, data...)
		if s, err := decodeSamples(rec, nil); err == nil {
			again, err := decodeSamples(encodeSamples(nil, s), nil)
			require.NoError(t, err)
			equalSamples(t, s, again)
		}
		var in []sampleRecord
		for len(data) >= 24 {
			in = append(in, sampleRecord{
				Ref: model.SeriesRef(binary.LittleEndian.Uint64(data)),
				T:   int64(binary.LittleEndian.Uint64(data[8:])),
				V:   math.Float64frombits(binary.LittleEndian.Uint64(data[16:])),
			})
			data = data[24:]
		}
		packed, err := decodeSamples(encodeSamples(nil, in), nil)
		require.NoError(t, err)
		raw, err := decodeSamples(encodeSamplesV1(nil, in), nil)
		require.NoError(t, err)
		equalSamples(t, in, packed)
		equalSamples(t, raw, packed)
	})
}

// equalSamples wants got to hold want's samples, values compared by bits.
func equalSamples(t *testing.T, want, got []sampleRecord) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Ref, got[i].Ref, "sample %d ref", i)
		require.Equal(t, want[i].T, got[i].T, "sample %d time", i)
		require.Equal(t, math.Float64bits(want[i].V), math.Float64bits(got[i].V), "sample %d value bits", i)
	}
}
