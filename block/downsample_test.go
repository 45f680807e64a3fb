package block

import (
	"errors"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// rollupPoints is the decoded content of the five roll-ups of one series,
// by aggregate.
type rollupPoints map[string][]sample

// downsampleOne downsamples a single series and returns its roll-ups by
// aggregate, checking their labels.
func downsampleOne(t *testing.T, lset labels.Labels, chunks []model.Chunk, res int64) rollupPoints {
	t.Helper()
	out, err := Downsample([]model.ChunkSeries{{Labels: lset, Chunks: chunks}}, res)
	if err != nil {
		t.Fatalf("Downsample: %v", err)
	}
	if len(out) != 5 {
		t.Fatalf("got %d series, want 5", len(out))
	}
	got := rollupPoints{}
	for _, s := range out {
		aggr := s.Labels.Get(RollupLabel)
		want := labels.NewBuilder(lset).Set(RollupLabel, aggr).Labels()
		if !labels.Equal(s.Labels, want) {
			t.Fatalf("labels %s, want %s", s.Labels, want)
		}
		var ss []sample
		for _, c := range s.Chunks {
			dec := decode(t, c.Data)
			if dec[0].T != c.MinT || dec[len(dec)-1].T != c.MaxT {
				t.Fatalf("%s: chunk [%d, %d] holds [%d, %d]", aggr, c.MinT, c.MaxT, dec[0].T, dec[len(dec)-1].T)
			}
			ss = append(ss, dec...)
		}
		got[aggr] = ss
	}
	return got
}

func TestDownsampleValues(t *testing.T) {
	const res = Resolution5m
	m := int64(60_000)
	w := testMint // aligned to 5m
	stale := math.Float64frombits(model.StaleNaN)
	raw := []sample{
		// Interval 0: irregular scrapes.
		{w, 10}, {w + 20_000, 12}, {w + 2*m + 1, 15}, {w + 4*m + 59_999, 15},
		// Interval 1: a counter reset to 3, then 4; a NaN in between.
		{w + 5*m, 20}, {w + 6*m, 3}, {w + 7*m, math.NaN()}, {w + 8*m, 4},
		// Interval 2: no samples at all. Interval 3: only a stale marker.
		{w + 15*m, stale},
		// Interval 4: one sample after the stale marker, then a trailing NaN.
		{w + 21*m, 9}, {w + 24*m, math.NaN()},
	}
	lset := labels.FromStrings("__name__", "requests_total", "job", "api")
	got := downsampleOne(t, lset, []model.Chunk{buildChunk(t, raw[:6]), buildChunk(t, raw[6:])}, res)
	ts := []int64{w + 4*m + 59_999, w + 8*m, w + 21*m}
	pts := func(vs ...float64) []sample {
		out := make([]sample, len(vs))
		for i, v := range vs {
			out[i] = sample{ts[i], v}
		}
		return out
	}
	want := rollupPoints{
		AggrCount: pts(4, 3, 1),
		AggrSum:   pts(52, 27, 9),
		AggrMin:   pts(10, 3, 9),
		AggrMax:   pts(15, 20, 9),
		// The last raw value of each interval, and both sides of the
		// reset from 20 to 3.
		AggrCounter: []sample{{ts[0], 15}, {w + 5*m, 20}, {w + 6*m, 3}, {ts[1], 4}, {ts[2], 9}},
	}
	for _, aggr := range aggregates {
		if !slices.Equal(got[aggr], want[aggr]) {
			t.Errorf("%s: got %v, want %v", aggr, got[aggr], want[aggr])
		}
	}
}

func TestDownsampleAllNaN(t *testing.T) {
	raw := []sample{{testMint, math.NaN()}, {testMint + 1000, math.Float64frombits(model.StaleNaN)}}
	out, err := Downsample([]model.ChunkSeries{{Labels: labels.FromStrings("a", "b"), Chunks: []model.Chunk{buildChunk(t, raw)}}}, Resolution5m)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out {
		if len(s.Chunks) != 0 {
			t.Errorf("%s: %d chunks, want none", s.Labels, len(s.Chunks))
		}
	}
}

func TestDownsampleSorted(t *testing.T) {
	// Labels sorting before and after RollupLabel ("A" < "__name__" <
	// "__rollup__" < "a"), and series that interleave once rolled up.
	in := []model.ChunkSeries{
		{Labels: labels.FromStrings("A", "1", "__name__", "m")},
		{Labels: labels.FromStrings("__name__", "m", "a", "1")},
		{Labels: labels.FromStrings("__name__", "m", "a", "2")},
		{Labels: labels.FromStrings("__name__", "n")},
		{Labels: labels.FromStrings("zz", "1")},
	}
	slices.SortFunc(in, func(a, b model.ChunkSeries) int { return labels.Compare(a.Labels, b.Labels) })
	for i := range in {
		in[i].Chunks = []model.Chunk{buildChunk(t, []sample{{testMint, float64(i)}})}
	}
	out, err := Downsample(in, Resolution1h)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5*len(in) {
		t.Fatalf("got %d series, want %d", len(out), 5*len(in))
	}
	var want []labels.Labels
	for _, s := range in {
		for _, aggr := range aggregates {
			want = append(want, labels.NewBuilder(s.Labels).Set(RollupLabel, aggr).Labels())
		}
	}
	slices.SortFunc(want, labels.Compare)
	for i, s := range out {
		if !labels.Equal(s.Labels, want[i]) {
			t.Fatalf("series %d: %s, want %s", i, s.Labels, want[i])
		}
	}
	// The output is valid input for Write.
	writeTestBlock(t, t.TempDir(), out, WriteOptions{Resolution: Resolution1h})
}

func TestDownsampleErrors(t *testing.T) {
	c := buildChunk(t, []sample{{testMint, 1}})
	if _, err := Downsample(nil, 0); err == nil {
		t.Error("resolution 0: no error")
	}
	_, err := Downsample([]model.ChunkSeries{{Labels: labels.FromStrings(RollupLabel, "sum"), Chunks: []model.Chunk{c}}}, Resolution5m)
	if !errors.Is(err, ErrRollupInput) {
		t.Errorf("series with %s: got %v, want ErrRollupInput", RollupLabel, err)
	}
	_, err = Downsample([]model.ChunkSeries{{Labels: labels.FromStrings("a", "b"), Chunks: []model.Chunk{c, c}}}, Resolution5m)
	if !errors.Is(err, ErrRollupInput) {
		t.Errorf("overlapping chunks: got %v, want ErrRollupInput", err)
	}
}

// TestDownsampleProperties checks, for random series with resets and NaNs,
// that the roll-ups preserve the totals they summarise.
func TestDownsampleProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := range 200 {
		raw := randomCounter(rng)
		res := []int64{Resolution5m, Resolution1h, 1000 + rng.Int63n(100_000)}[iter%3]
		got := downsampleOne(t, labels.FromStrings("i", "x"), []model.Chunk{buildChunk(t, raw)}, res)

		var n int
		var sum, increase float64
		lo, hi := math.Inf(1), math.Inf(-1)
		prev := math.NaN()
		for _, s := range raw {
			if math.IsNaN(s.V) {
				continue
			}
			n++
			sum += s.V
			lo, hi = min(lo, s.V), max(hi, s.V)
			switch {
			case math.IsNaN(prev):
			case s.V >= prev:
				increase += s.V - prev
			default:
				increase += s.V
			}
			prev = s.V
		}
		var gotN, gotSum float64
		gotLo, gotHi := math.Inf(1), math.Inf(-1)
		for i, p := range got[AggrCount] {
			gotN += p.V
			gotSum += got[AggrSum][i].V
			gotLo, gotHi = min(gotLo, got[AggrMin][i].V), max(gotHi, got[AggrMax][i].V)
			if k := model.FloorDiv(p.T, res); i > 0 && model.FloorDiv(got[AggrCount][i-1].T, res) >= k {
				t.Fatalf("res %d: two points in interval %d", res, k)
			}
		}
		if int(gotN) != n {
			t.Fatalf("res %d: count sums to %v, want %d", res, gotN, n)
		}
		if n == 0 {
			continue
		}
		if math.Abs(gotSum-sum) > 1e-9*math.Abs(sum) {
			t.Fatalf("res %d: sums add up to %v, want %v", res, gotSum, sum)
		}
		if gotLo != lo || gotHi != hi {
			t.Fatalf("res %d: min/max %v/%v, want %v/%v", res, gotLo, gotHi, lo, hi)
		}
		// The increase PromQL reads from the first raw sample and the
		// counter points is the raw one.
		vals := []float64{raw[slices.IndexFunc(raw, func(s sample) bool { return !math.IsNaN(s.V) })].V}
		for i, p := range got[AggrCounter] {
			if i > 0 && p.T <= got[AggrCounter][i-1].T {
				t.Fatalf("res %d: counter points out of order at %d", res, p.T)
			}
			vals = append(vals, p.V)
		}
		if d := promIncrease(vals); math.Abs(d-increase) > 1e-9*math.Max(1, increase) {
			t.Fatalf("res %d: counter rose by %v, want %v", res, d, increase)
		}
	}
}

// randomCounter returns the samples of a random counter over one window:
// irregular scrapes and gaps, resets, NaNs and stale markers.
func randomCounter(rng *rand.Rand) []sample {
	var out []sample
	v := rng.Float64() * 1000
	for ts := testMint + rng.Int63n(30_000); ts < testMaxt; ts += 1 + rng.Int63n(120_000) {
		if rng.Intn(50) == 0 {
			ts += rng.Int63n(3_600_000) // a gap
			if ts >= testMaxt {
				break
			}
		}
		switch r := rng.Intn(40); {
		case r == 0:
			out = append(out, sample{ts, math.Float64frombits(model.StaleNaN)})
			continue
		case r == 1:
			out = append(out, sample{ts, math.NaN()})
			continue
		case r == 2:
			v = rng.Float64() * 10 // a reset
		default:
			v += rng.ExpFloat64() * 5
		}
		out = append(out, sample{ts, v})
	}
	if len(out) == 0 {
		out = append(out, sample{testMint, 1})
	}
	return out
}

// BenchmarkDownsample rolls one window of 10k series scraped every 15s (480
// samples each) up to 5m.
//
//	go test -run='^$' -bench=Downsample -benchmem ./block/
func BenchmarkDownsample(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	in := genSeries(b, rng, 10_000, testMint, testMaxt, 15_000, 1)
	var samples int
	for _, s := range in {
		for _, c := range s.Chunks {
			samples += storedChunk(c.Data).NumSamples()
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Downsample(in, Resolution5m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
}

// promIncrease is the increase PromQL reads from counter samples, without
// extrapolation: rises add their difference, a drop is a reset and adds the
// new value.
func promIncrease(vs []float64) float64 {
	var inc float64
	for i := 1; i < len(vs); i++ {
		if vs[i] >= vs[i-1] {
			inc += vs[i] - vs[i-1]
		} else {
			inc += vs[i]
		}
	}
	return inc
}

// TestDownsampleCounterAcrossWindows: increases read across a window
// boundary from the counter roll-ups of two windows equal the raw ones,
// whether the counter resets inside a window or between them.
func TestDownsampleCounterAcrossWindows(t *testing.T) {
	m := int64(60_000)
	// Raw samples every 2 minutes: several per roll-up interval.
	counters := func(vals ...float64) (raw, rolled []float64) {
		var a, b []sample
		for i, v := range vals[:4] {
			a = append(a, sample{testMint + int64(i)*2*m, v})
		}
		for i, v := range vals[4:] {
			b = append(b, sample{testMaxt + int64(i)*2*m, v})
		}
		for _, win := range [][]sample{a, b} {
			got := downsampleOne(t, labels.FromStrings("c", "x"), []model.Chunk{buildChunk(t, win)}, Resolution5m)
			for _, p := range got[AggrCounter] {
				rolled = append(rolled, p.V)
			}
		}
		return vals, rolled
	}
	for _, tc := range []struct {
		name string
		vals []float64
	}{
		{"no reset", []float64{100, 110, 120, 130, 140, 150}},
		{"reset between windows", []float64{100, 110, 120, 130, 7, 17}},
		{"reset in the second window", []float64{100, 110, 120, 130, 140, 3}},
		{"reset in the first window, small next value", []float64{100, 110, 5, 15, 20, 30}},
		{"reset in the first window, large next value", []float64{100, 110, 5, 15, 200, 210}},
		{"two resets in one interval", []float64{100, 2, 1, 15, 20, 30}},
		{"a reset hidden by the rise after it", []float64{100, 5, 200, 210, 220, 230}},
	} {
		raw, rolled := counters(tc.vals...)
		// The first raw sample opens both reads.
		rolled = append([]float64{raw[0]}, rolled...)
		if got, want := promIncrease(rolled), promIncrease(raw); got != want {
			t.Errorf("%s: roll-up increase %v (from %v), raw %v", tc.name, got, rolled, want)
		}
	}
}
