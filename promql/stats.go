package promql

import (
	"cmp"
	"math"
	"slices"
)

// This file holds the statistics behind /api/v1/correlate,
// /api/v1/autocorrelation and the PromQL functions of functions.go. It
// knows nothing of series or HTTP: inputs are plain slices, and a missing
// or non-finite value is NaN. docs/analytics.md states the semantics.

// corrMethod names a correlation coefficient.
type corrMethod string

const (
	methodPearson  corrMethod = "pearson"
	methodSpearman corrMethod = "spearman"
)

// corrBuf holds scratch space so that repeated coefficients (a rolling
// window, many pairs) reuse memory. The zero value is ready to use.
type corrBuf struct {
	x, y, rx, ry []float64
	idx          []ranked
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// coefficient returns the method's coefficient over the pairs (x[i], y[i])
// where both are finite. ok is false when it is undefined: fewer than two
// such pairs, or one side constant over them. x and y must have the same
// length.
func (b *corrBuf) coefficient(m corrMethod, x, y []float64) (r float64, n int, ok bool) {
	b.x, b.y = b.x[:0], b.y[:0]
	for i := range x {
		if finite(x[i]) && finite(y[i]) {
			b.x = append(b.x, x[i])
			b.y = append(b.y, y[i])
		}
	}
	n = len(b.x)
	if m == methodSpearman {
		b.rx = b.ranks(b.rx, b.x)
		b.ry = b.ranks(b.ry, b.y)
		r, ok = pearson(b.rx, b.ry)
		return r, n, ok
	}
	r, ok = pearson(b.x, b.y)
	return r, n, ok
}

// pearson returns the Pearson correlation of x and y, all finite and of
// the same length. It makes two passes (means, then deviations), which
// keeps large offsets such as Unix timestamps from cancelling digits.
func pearson(x, y []float64) (float64, bool) {
	n := len(x)
	if n < 2 {
		return 0, false
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	// Values near MaxFloat64 overflow the sums: no coefficient then.
	if sxx == 0 || syy == 0 || !finite(sxx) || !finite(syy) || !finite(sxy) {
		return 0, false
	}
	// One square root rounds once (a perfect line gives exactly ±1);
	// two keep the product from overflowing or underflowing.
	d := sxx * syy
	r := sxy / math.Sqrt(d)
	if d == 0 || !finite(d) {
		r = sxy / (math.Sqrt(sxx) * math.Sqrt(syy))
	}
	// Rounding can step just outside [-1, 1].
	return max(-1, min(1, r)), true
}

// ranks writes into dst the rank (1-based) of each value of x, all
// finite; tied values get the average of the ranks they span, as
// Spearman's coefficient requires.
func (b *corrBuf) ranks(dst, x []float64) []float64 {
	n := len(x)
	// Sorting (value, index) pairs rather than indexes into x keeps the
	// comparisons on contiguous memory.
	b.idx = slices.Grow(b.idx[:0], n)
	for i, v := range x {
		b.idx = append(b.idx, ranked{v, i})
	}
	slices.SortFunc(b.idx, func(p, q ranked) int { return cmp.Compare(p.v, q.v) })
	dst = slices.Grow(dst[:0], n)[:n]
	for i := 0; i < n; {
		j := i + 1
		for j < n && b.idx[j].v == b.idx[i].v {
			j++
		}
		// Positions i..j-1 (0-based) hold equal values: ranks i+1..j.
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			dst[b.idx[k].i] = avg
		}
		i = j
	}
	return dst
}

// ranked is a value and its position, sorted by value to rank it.
type ranked struct {
	v float64
	i int
}

// rolling calls emit(i, r, n) for each index i of the grid where the
// window of the last `window` grid points ending at i (fewer at the start)
// holds a defined coefficient; n is its number of valid pairs.
func (b *corrBuf) rolling(m corrMethod, x, y []float64, window int, emit func(i int, r float64, n int)) {
	for i := range x {
		lo := max(0, i-window+1)
		if r, n, ok := b.coefficient(m, x[lo:i+1], y[lo:i+1]); ok {
			emit(i, r, n)
		}
	}
}

// autocorrelation returns the sample autocorrelation of x at lag (≥ 1),
// x being values on a regular grid where NaN (or ±Inf) marks a missing
// step:
//
//	r(lag) = Σ (x[t]-m)(x[t+lag]-m) / Σ (x[t]-m)²
//
// m and the denominator are taken over every valid point, the numerator
// over the pairs whose two points are both valid. For a series without
// gaps this is the standard sample ACF. ok is false when fewer than two
// points are valid, the series is constant, or no pair is lag apart.
func autocorrelation(x []float64, lag int) (float64, bool) {
	if lag < 1 || lag >= len(x) {
		return 0, false
	}
	var (
		m float64
		n int
	)
	for _, v := range x {
		if finite(v) {
			m += v
			n++
		}
	}
	if n < 2 {
		return 0, false
	}
	m /= float64(n)
	var den, num float64
	pairs := 0
	for t, v := range x {
		if !finite(v) {
			continue
		}
		d := v - m
		den += d * d
		if t+lag < len(x) && finite(x[t+lag]) {
			num += d * (x[t+lag] - m)
			pairs++
		}
	}
	if den == 0 || pairs == 0 || !finite(den) {
		return 0, false
	}
	return num / den, true
}
