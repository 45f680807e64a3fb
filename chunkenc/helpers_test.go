package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"

	prom "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
)

// sample is a decoded sample; values are compared by their bits so that NaN
// payloads and -0 count.
type sample struct {
	t int64
	v float64
}

func (s sample) bits() uint64 { return math.Float64bits(s.v) }

// encode appends samples to a new chunk, failing the test on any error.
func encode(tb testing.TB, ss []sample) *XORChunk {
	tb.Helper()
	c := NewXORChunk()
	app, err := c.Appender()
	require.NoError(tb, err)
	for i, s := range ss {
		require.NoError(tb, app.Append(s.t, s.v), "sample %d", i)
	}
	return c
}

// decode reads every sample of b with our iterator.
func decode(b []byte) ([]sample, error) {
	var out []sample
	it := NewIterator(b)
	for it.Next() {
		t, v := it.At()
		out = append(out, sample{t, v})
	}
	return out, it.Err()
}

// promEncode encodes samples with the Prometheus reference implementation.
func promEncode(tb testing.TB, ss []sample) []byte {
	tb.Helper()
	c := prom.NewXORChunk()
	app, err := c.Appender()
	require.NoError(tb, err)
	for _, s := range ss {
		app.Append(0, s.t, s.v)
	}
	return c.Bytes()
}

// promDecode decodes b with the Prometheus reference implementation.
func promDecode(tb testing.TB, b []byte) ([]sample, error) {
	tb.Helper()
	c, err := prom.FromData(prom.EncXOR, b)
	require.NoError(tb, err)
	var out []sample
	it := c.Iterator(nil)
	for it.Next() == prom.ValFloat {
		t, v := it.At()
		out = append(out, sample{t, v})
	}
	return out, it.Err()
}

// requireSamples compares samples by timestamp and value bits.
func requireSamples(tb testing.TB, want, got []sample) {
	tb.Helper()
	require.Len(tb, got, len(want))
	for i := range want {
		if want[i].t != got[i].t || want[i].bits() != got[i].bits() {
			tb.Fatalf("sample %d: got (%d, %v %#x), want (%d, %v %#x)", i,
				got[i].t, got[i].v, got[i].bits(), want[i].t, want[i].v, want[i].bits())
		}
	}
}

// staleNaN is the Prometheus stale marker.
var staleNaN = math.Float64frombits(0x7ff0000000000002)

// shapes returns named sample series covering the encoder's paths.
func shapes() map[string][]sample {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(n int, t0, step int64, f func(i int) float64) []sample {
		ss := make([]sample, n)
		for i := range ss {
			ss[i] = sample{t0 + int64(i)*step, f(i)}
		}
		return ss
	}
	m := map[string][]sample{
		"one":      {{1_700_000_000_000, 42}},
		"two":      {{-5, 1}, {7, 2}},
		"counter":  gen(500, 1_700_000_000_000, 15_000, func(i int) float64 { return float64(i * 17) }),
		"gauge":    gen(500, 1_700_000_000_000, 15_000, func(int) float64 { return math.Round(r.Float64()*10000) / 100 }),
		"constant": gen(500, 1_700_000_000_000, 1_000, func(int) float64 { return 3.25 }),
		"random":   gen(500, 0, 10, func(int) float64 { return math.Float64frombits(r.Uint64()) }),
		"special": {
			{1, staleNaN}, {2, math.NaN()}, {3, math.Float64frombits(0x7ff8dead00000001)},
			{4, math.Inf(1)}, {5, math.Inf(-1)}, {6, math.Copysign(0, -1)}, {7, 0},
			{8, math.SmallestNonzeroFloat64}, {9, math.MaxFloat64}, {10, -math.MaxFloat64},
			{11, staleNaN}, {12, 1}, {13, staleNaN},
		},
		"negative-time": gen(300, -1_000_000, 333, func(i int) float64 { return float64(-i) }),
	}
	// Irregular timestamps that exercise every delta-of-delta bucket at
	// and around its bounds, plus huge and negative deltas.
	var irr []sample
	t := int64(-1 << 40)
	deltas := []int64{
		1000, 1000, 1000 + 8192, 1000, 1000 - 8191, 1000, 1000 + 8193, 1000 - 8192,
		1000 + 1<<16, 1000 - (1<<16 - 1), 1000 + 1<<16 + 1, 1000 - 1<<16,
		1000 + 1<<19, 1000 - (1<<19 - 1), 1000 + 1<<19 + 1, 1000 - 1<<19,
		1 << 50, -(1 << 50), 0, 0, 1, -1, math.MaxInt64 / 4, 5, 15000, 15001, 14999,
	}
	for i, d := range deltas {
		t += d
		irr = append(irr, sample{t, float64(i)})
	}
	for range 200 {
		t += r.Int64N(1<<21) - 1<<20
		irr = append(irr, sample{t, r.NormFloat64()})
	}
	m["irregular"] = irr
	m["extremes"] = []sample{{math.MinInt64, 1}, {math.MaxInt64, 2}, {math.MinInt64, 3}, {0, 4}, {math.MaxInt64, 5}}
	return m
}
