package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// The dense sample layout, specified in docs/format/dense.md. It is the
// payload of a dense chunk before the general-purpose compressor that the
// block package applies; the constants are part of the format.
const (
	// denseValuesXOR stores each value as the XOR with the previous one.
	denseValuesXOR = 0
	// denseValuesDelta stores decimal-scaled integers as deltas.
	denseValuesDelta = 1
	// denseValuesDoD stores decimal-scaled integers as deltas of deltas.
	denseValuesDoD = 2

	// DenseMaxScale is the largest decimal exponent a dense chunk uses:
	// 10^15 and every smaller power of ten is exact in a float64.
	DenseMaxScale = 15

	// denseMaxInt bounds the decimal-scaled integers so that converting
	// them to float64 is exact.
	denseMaxInt = 1 << 53

	// denseTimesRuns stores timestamps as runs of deltas of deltas.
	denseTimesRuns = 0
	// denseTimesGrid stores timestamps as offsets from a regular grid.
	denseTimesGrid = 1

	// denseXORZero is the trailing-zero byte that marks a value equal to
	// the previous one in XOR mode.
	denseXORZero = 64
)

// pow10 holds the exact powers of ten up to DenseMaxScale.
var pow10 = [DenseMaxScale + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// AppendDense appends the dense encoding of the samples (ts[i], vs[i]) to dst
// and returns the extended slice. ts and vs must have the same length, at
// most MaxSamples; otherwise AppendDense panics, as that is a caller's bug.
// Timestamps may be in any order (arithmetic wraps); the encoding is
// smallest for a constant step.
//
// Every float64 round-trips bit for bit through DecodeDense: NaN payloads,
// stale markers, ±Inf and -0 included. Values are stored as integers scaled
// by a power of ten when that reproduces their exact bits, with the values
// that do not fit kept verbatim as exceptions; otherwise every value is
// XORed with the previous one.
func AppendDense(dst []byte, ts []int64, vs []float64) []byte {
	if len(ts) != len(vs) || len(ts) > MaxSamples {
		panic(fmt.Sprintf("BUG: AppendDense with %d timestamps and %d values", len(ts), len(vs)))
	}
	dst = binary.AppendUvarint(dst, uint64(len(ts)))
	if len(ts) == 0 {
		return dst
	}
	dst = appendDenseTimes(dst, ts)
	return appendDenseValues(dst, vs)
}

// appendDenseTimes writes the timestamps in the smaller of two layouts:
// runs of deltas of deltas, best for exact steps, or offsets from a grid,
// best for scrapes whose timestamps jitter by milliseconds around their
// interval (an offset holds one jitter, a delta of delta three).
func appendDenseTimes(dst []byte, ts []int64) []byte {
	if len(ts) < 3 {
		return appendDenseRuns(append(dst, denseTimesRuns), ts)
	}
	start := len(dst)
	dst = appendDenseRuns(append(dst, denseTimesRuns), ts)
	runs := len(dst) - start
	grid := appendDenseGrid(append(dst[len(dst):], denseTimesGrid), ts)
	if len(grid) < runs {
		dst = append(dst[:start], grid...)
	}
	return dst
}

// appendDenseGrid writes t0, the step (the mean delta, rounded down), then
// for every later sample its offset from t0 + i*step.
func appendDenseGrid(dst []byte, ts []int64) []byte {
	n := int64(len(ts) - 1)
	step := (ts[n] - ts[0]) / n
	dst = binary.AppendVarint(dst, ts[0])
	dst = binary.AppendVarint(dst, step)
	for i := int64(1); i <= n; i++ {
		dst = binary.AppendVarint(dst, ts[i]-ts[0]-i*step)
	}
	return dst
}

// appendDenseRuns writes t0, the first delta, then the deltas of deltas as
// runs: a count of zeros followed by one non-zero value, ending with the
// count of trailing zeros.
func appendDenseRuns(dst []byte, ts []int64) []byte {
	dst = binary.AppendVarint(dst, ts[0])
	if len(ts) == 1 {
		return dst
	}
	delta := ts[1] - ts[0]
	dst = binary.AppendVarint(dst, delta)
	zeros := uint64(0)
	for i := 2; i < len(ts); i++ {
		d := ts[i] - ts[i-1]
		dod := d - delta
		delta = d
		if dod == 0 {
			zeros++
			continue
		}
		dst = binary.AppendUvarint(dst, zeros)
		dst = binary.AppendVarint(dst, dod)
		zeros = 0
	}
	if len(ts) > 2 {
		dst = binary.AppendUvarint(dst, zeros)
	}
	return dst
}

// appendDenseValues picks the value mode and writes the values.
func appendDenseValues(dst []byte, vs []float64) []byte {
	scale, ok := denseScale(vs)
	if !ok {
		return appendDenseXOR(append(dst, denseValuesXOR), vs)
	}
	ints := make([]int64, 0, len(vs))
	var exc []int
	for i, v := range vs {
		n, ok := scaled(v, scale)
		if !ok {
			exc = append(exc, i)
			continue
		}
		ints = append(ints, n)
	}
	mode := byte(denseValuesDelta)
	if diffSize(ints, 2) < diffSize(ints, 1) {
		mode = denseValuesDoD
	}
	dst = append(dst, mode, byte(scale))
	dst = binary.AppendUvarint(dst, uint64(len(exc)))
	prev := 0
	for _, i := range exc {
		dst = binary.AppendUvarint(dst, uint64(i-prev))
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(vs[i]))
		prev = i
	}
	return appendDiffs(dst, ints, int(mode))
}

// denseScale returns the decimal exponent that represents the most values
// exactly, and whether the decimal mode is worth it: at least three values
// in four must fit.
func denseScale(vs []float64) (int, bool) {
	scale, fit := 0, 0
	for _, v := range vs {
		for e := 0; e <= DenseMaxScale; e++ {
			if _, ok := scaled(v, e); ok {
				scale = max(scale, e)
				fit++
				break
			}
		}
	}
	if fit*4 < len(vs)*3 {
		return 0, false
	}
	// A value exact at a smaller exponent usually stays exact at a larger
	// one, but the integer may outgrow denseMaxInt: count again.
	fit = 0
	for _, v := range vs {
		if _, ok := scaled(v, scale); ok {
			fit++
		}
	}
	return scale, fit*4 >= len(vs)*3
}

// scaled returns n with unscale(n, e) bit-identical to v, if there is one
// within ±denseMaxInt. Keep it small enough to inline.
func scaled(v float64, e int) (int64, bool) {
	f := math.Round(v * pow10[e])
	if !(f >= -denseMaxInt && f <= denseMaxInt) { // also rejects NaN
		return 0, false
	}
	n := int64(f)
	return n, math.Float64bits(unscale(n, e)) == math.Float64bits(v)
}

// unscale is the decimal decoding: n / 10^e, correctly rounded.
func unscale(n int64, e int) float64 {
	if e == 0 {
		return float64(n)
	}
	return float64(n) / pow10[e]
}

// diffSize returns the bytes appendDiffs would write for order 1 or 2.
func diffSize(ints []int64, order int) int {
	var buf [binary.MaxVarintLen64]byte
	size := 0
	var prev, prevD int64
	for i, n := range ints {
		d := n - prev
		x := d
		if order == 2 && i > 1 {
			x = d - prevD
		}
		size += binary.PutVarint(buf[:], x)
		prev, prevD = n, d
	}
	return size
}

// appendDiffs writes the integers as order-1 (delta) or order-2 (delta of
// delta) differences, the first against zero; order 2 starts at the third.
func appendDiffs(dst []byte, ints []int64, mode int) []byte {
	var prev, prevD int64
	for i, n := range ints {
		d := n - prev
		x := d
		if mode == denseValuesDoD && i > 1 {
			x = d - prevD
		}
		dst = binary.AppendVarint(dst, x)
		prev, prevD = n, d
	}
	return dst
}

// appendDenseXOR writes each value's XOR with the previous one (the first
// against zero) as a trailing-zero count and the shifted remainder.
func appendDenseXOR(dst []byte, vs []float64) []byte {
	prev := uint64(0)
	for _, v := range vs {
		b := math.Float64bits(v)
		x := b ^ prev
		prev = b
		if x == 0 {
			dst = append(dst, denseXORZero)
			continue
		}
		tz := bits.TrailingZeros64(x)
		dst = append(dst, byte(tz))
		dst = binary.AppendUvarint(dst, x>>tz)
	}
	return dst
}
