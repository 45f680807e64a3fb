package promql

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naivePearson is the one-pass textbook formula, independent of pearson.
func naivePearson(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxy, sxx, syy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxy += x[i] * y[i]
		sxx += x[i] * x[i]
		syy += y[i] * y[i]
	}
	return (n*sxy - sx*sy) / (math.Sqrt(n*sxx-sx*sx) * math.Sqrt(n*syy-sy*sy))
}

// naiveRanks counts, for each value, those below it and those equal to it:
// rank = below + (equal+1)/2, the average rank of a tie.
func naiveRanks(x []float64) []float64 {
	r := make([]float64, len(x))
	for i, v := range x {
		below, equal := 0, 0
		for _, w := range x {
			switch {
			case w < v:
				below++
			case w == v:
				equal++
			}
		}
		r[i] = float64(below) + float64(equal+1)/2
	}
	return r
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("%s: got %.17g, want %.17g", name, got, want)
	}
}

func TestCoefficientKnownValues(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name   string
		m      corrMethod
		x, y   []float64
		want   float64
		n      int
		undef  bool
		wantOK bool
	}{
		{name: "y=2x+3", m: methodPearson, x: []float64{1, 2, 3, 4, 5, 6}, y: []float64{5, 7, 9, 11, 13, 15}, want: 1, n: 6},
		{name: "y=-x", m: methodPearson, x: []float64{1, 2, 3, 4}, y: []float64{-1, -2, -3, -4}, want: -1, n: 4},
		// mean x 3, mean y 4: Σdxdy 6, Σdx² 10, Σdy² 6.
		{name: "small", m: methodPearson, x: []float64{1, 2, 3, 4, 5}, y: []float64{2, 4, 5, 4, 5}, want: 6 / math.Sqrt(60), n: 5},
		// Ranks of y with ties: 1, 2.5, 4.5, 2.5, 4.5: Σdxdy 7, Σdx² 10, Σdy² 9.
		{name: "spearman ties", m: methodSpearman, x: []float64{1, 2, 3, 4, 5}, y: []float64{2, 4, 5, 4, 5}, want: 7 / math.Sqrt(90), n: 5},
		// IQ against hours of TV: Σd² = 194, ρ = 1 - 6·194/(10·99).
		{name: "spearman no ties", m: methodSpearman,
			x:    []float64{106, 86, 100, 101, 99, 103, 97, 113, 112, 110},
			y:    []float64{7, 0, 27, 50, 28, 29, 20, 12, 6, 17},
			want: 1 - 6*194.0/990, n: 10},
		{name: "spearman monotonic", m: methodSpearman, x: []float64{1, 2, 3, 4}, y: []float64{1, 8, 27, 64}, want: 1, n: 4},
		{name: "non-finite dropped", m: methodPearson, x: []float64{1, nan, 2, inf, 3, 4}, y: []float64{2, 5, 4, 1, 6, -inf}, want: 1, n: 3},
		{name: "constant", m: methodPearson, x: []float64{1, 2, 3}, y: []float64{7, 7, 7}, undef: true, n: 3},
		{name: "constant spearman", m: methodSpearman, x: []float64{1, 2, 3}, y: []float64{7, 7, 7}, undef: true, n: 3},
		{name: "one point", m: methodPearson, x: []float64{1, nan}, y: []float64{2, 3}, undef: true, n: 1},
		{name: "empty", m: methodSpearman, undef: true},
		{name: "huge", m: methodPearson, x: []float64{-math.MaxFloat64, math.MaxFloat64}, y: []float64{1, 2}, undef: true, n: 2},
	}
	var b corrBuf
	for _, c := range cases {
		r, n, ok := b.coefficient(c.m, c.x, c.y)
		if n != c.n || ok == c.undef {
			t.Fatalf("%s: got n=%d ok=%v, want n=%d ok=%v", c.name, n, ok, c.n, !c.undef)
		}
		if ok {
			near(t, c.name, r, c.want)
		}
	}
}

func TestCoefficientAgainstNaive(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var b corrBuf
	for range 50 {
		n := 2 + rnd.IntN(200)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = float64(rnd.IntN(20)) // many ties
			y[i] = x[i]*rnd.Float64() + rnd.NormFloat64()
		}
		got, _, ok := b.coefficient(methodPearson, x, y)
		if want := naivePearson(x, y); ok && math.Abs(got-want) > 1e-9 {
			t.Fatalf("pearson n=%d: got %v, want %v", n, got, want)
		}
		got, _, ok = b.coefficient(methodSpearman, x, y)
		if want := naivePearson(naiveRanks(x), naiveRanks(y)); ok && math.Abs(got-want) > 1e-9 {
			t.Fatalf("spearman n=%d: got %v, want %v", n, got, want)
		}
	}
}

func TestRolling(t *testing.T) {
	nan := math.NaN()
	x := []float64{1, 2, 3, nan, 5, 6}
	y := []float64{2, 4, 6, 8, 1, 0}
	type pt struct {
		i int
		r float64
		n int
	}
	var got []pt
	var b corrBuf
	b.rolling(methodPearson, x, y, 3, func(i int, r float64, n int) { got = append(got, pt{i, r, n}) })
	// i=0: one point. i=1,2: perfectly linear. i=3: (2,4),(3,6). i=4:
	// (3,6),(5,1). i=5: (5,1),(6,0).
	want := []pt{{1, 1, 2}, {2, 1, 3}, {3, 1, 2}, {4, -1, 2}, {5, -1, 2}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k := range want {
		if got[k].i != want[k].i || got[k].n != want[k].n {
			t.Fatalf("point %d: got %v, want %v", k, got[k], want[k])
		}
		near(t, "rolling", got[k].r, want[k].r)
	}
}

// naiveACF is the textbook sample ACF of a series without gaps.
func naiveACF(x []float64, lag int) float64 {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var num, den float64
	for t := range x {
		den += (x[t] - m) * (x[t] - m)
		if t+lag < len(x) {
			num += (x[t] - m) * (x[t+lag] - m)
		}
	}
	return num / den
}

func TestAutocorrelation(t *testing.T) {
	alt := make([]float64, 100)
	trend := make([]float64, 50)
	for i := range alt {
		alt[i] = float64(1 - 2*(i%2))
	}
	for i := range trend {
		trend[i] = float64(i)
	}
	r, ok := autocorrelation(alt, 1)
	if !ok {
		t.Fatal("alternating: undefined")
	}
	near(t, "alternating lag 1", r, -99.0/100) // Σ over 99 pairs of -1, over Σ 100 of 1
	r, _ = autocorrelation(alt, 2)
	near(t, "alternating lag 2", r, 98.0/100)
	for _, lag := range []int{1, 5, 20} {
		r, _ = autocorrelation(trend, lag)
		near(t, "trend", r, naiveACF(trend, lag))
	}
	// Gaps: mean and denominator over 1, 3, 5, 7 (mean 4, Σd² 20); the
	// only lag-1 pair with both points is (5, 7) → (1·3)/20.
	nan := math.NaN()
	r, ok = autocorrelation([]float64{1, nan, 3, nan, 5, 7}, 1)
	if !ok {
		t.Fatal("gaps: undefined")
	}
	near(t, "gaps", r, 3.0/20)
	for name, c := range map[string]struct {
		x   []float64
		lag int
	}{
		"constant": {[]float64{2, 2, 2, 2}, 1}, "lag too large": {[]float64{1, 2, 3}, 3},
		"lag zero": {[]float64{1, 2, 3}, 0}, "one point": {[]float64{1, nan, nan}, 1},
		"no pair": {[]float64{1, nan, 3}, 1}, "inf": {[]float64{math.Inf(1), nan, 3}, 1},
	} {
		if _, ok := autocorrelation(c.x, c.lag); ok {
			t.Fatalf("%s: got defined, want undefined", name)
		}
	}
}

func randomPair(n int, seed uint64) (x, y []float64) {
	rnd := rand.New(rand.NewPCG(seed, 7))
	x, y = make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = rnd.NormFloat64()
		y[i] = 0.5*x[i] + rnd.NormFloat64()
	}
	return x, y
}

func BenchmarkCorrelation100k(b *testing.B) {
	x, y := randomPair(100_000, 1)
	for _, m := range []corrMethod{methodPearson, methodSpearman} {
		b.Run(string(m), func(b *testing.B) {
			var buf corrBuf
			b.ReportAllocs()
			for b.Loop() {
				buf.coefficient(m, x, y)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/point")
		})
	}
}

func BenchmarkCorrelation1000Pairs(b *testing.B) {
	xs, ys := make([][]float64, 1000), make([][]float64, 1000)
	for i := range xs {
		xs[i], ys[i] = randomPair(1000, uint64(i))
	}
	for _, m := range []corrMethod{methodPearson, methodSpearman} {
		b.Run(string(m), func(b *testing.B) {
			var buf corrBuf
			b.ReportAllocs()
			for b.Loop() {
				for i := range xs {
					buf.coefficient(m, xs[i], ys[i])
				}
			}
		})
	}
}
