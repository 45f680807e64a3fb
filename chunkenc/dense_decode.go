package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DecodeDense decodes a dense encoding written by AppendDense and appends
// its samples to ts and vs, returning the extended slices. Malformed input
// yields an error wrapping ErrCorrupt; DecodeDense never panics, always
// terminates and allocates at most in proportion to len(b).
func DecodeDense(b []byte, ts []int64, vs []float64) ([]int64, []float64, error) {
	d := denseReader{b: b}
	n := d.uvarint()
	if d.err == nil && (n > MaxSamples || n > uint64(len(b))) {
		return ts, vs, fmt.Errorf("%w: dense chunk announces %d samples in %d bytes", ErrCorrupt, n, len(b))
	}
	if n == 0 || d.err != nil {
		return ts, vs, d.done()
	}
	base := len(ts)
	ts = d.times(ts, int(n))
	mode := d.byte()
	switch mode {
	case denseValuesXOR:
		vs = d.xorValues(vs, int(n))
	case denseValuesDelta, denseValuesDoD:
		vs = d.decimalValues(vs, int(n), int(mode))
	default:
		d.fail("value mode %d", mode)
	}
	if err := d.done(); err != nil {
		return ts[:base], vs[:min(len(vs), base)], err
	}
	return ts, vs, nil
}

// denseReader reads the fields of a dense encoding; the first error sticks
// and every later read returns zero.
type denseReader struct {
	b   []byte
	off int
	err error
}

func (d *denseReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: dense chunk at byte %d: %s", ErrCorrupt, d.off, fmt.Sprintf(format, args...))
	}
}

// done reports the sticky error, or trailing bytes after the last field.
func (d *denseReader) done() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}

func (d *denseReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, k := binary.Uvarint(d.b[d.off:])
	if k <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.off += k
	return x
}

func (d *denseReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, k := binary.Varint(d.b[d.off:])
	if k <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += k
	return x
}

func (d *denseReader) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("ends early")
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *denseReader) uint64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.off < 8 {
		d.fail("ends inside a verbatim value")
		return 0
	}
	d.off += 8
	return binary.BigEndian.Uint64(d.b[d.off-8:])
}

// times decodes n timestamps in either layout.
func (d *denseReader) times(ts []int64, n int) []int64 {
	switch layout := d.byte(); layout {
	case denseTimesRuns:
		return d.runs(ts, n)
	case denseTimesGrid:
		return d.grid(ts, n)
	default:
		d.fail("timestamp layout %d", layout)
		return ts
	}
}

// grid decodes t0, the step and the offsets from the grid.
func (d *denseReader) grid(ts []int64, n int) []int64 {
	t0 := d.varint()
	step := d.varint()
	ts = append(ts, t0)
	for i := int64(1); i < int64(n) && d.err == nil; i++ {
		ts = append(ts, t0+i*step+d.varint())
	}
	return ts
}

// runs decodes t0, the first delta, then zero runs and non-zero deltas of
// deltas.
func (d *denseReader) runs(ts []int64, n int) []int64 {
	t := d.varint()
	ts = append(ts, t)
	if n == 1 {
		return ts
	}
	delta := d.varint()
	t += delta
	ts = append(ts, t)
	if n == 2 {
		return ts
	}
	// Pairs of (constant steps, delta of delta), ended by the count of
	// trailing constant steps (zero when the last step changed).
	for left := n - 2; d.err == nil; {
		zeros := d.uvarint()
		if zeros > uint64(left) {
			d.fail("run of %d constant steps with %d samples left", zeros, left)
			break
		}
		for range zeros {
			t += delta
			ts = append(ts, t)
		}
		if left -= int(zeros); left == 0 {
			break
		}
		delta += d.varint()
		t += delta
		ts = append(ts, t)
		left--
	}
	return ts
}

// xorValues decodes n values stored as XORs with the previous value.
func (d *denseReader) xorValues(vs []float64, n int) []float64 {
	prev := uint64(0)
	for range n {
		tz := d.byte()
		switch {
		case d.err != nil:
			return vs
		case tz == denseXORZero:
		case tz < 64:
			rest := d.uvarint()
			if rest == 0 || rest<<tz>>tz != rest {
				d.fail("XOR remainder %#x does not fit %d trailing zeros", rest, tz)
				return vs
			}
			prev ^= rest << tz
		default:
			d.fail("trailing-zero count %d", tz)
			return vs
		}
		vs = append(vs, math.Float64frombits(prev))
	}
	return vs
}

// decimalValues decodes n values stored as decimal-scaled integers with
// verbatim exceptions.
func (d *denseReader) decimalValues(vs []float64, n, mode int) []float64 {
	scale := int(d.byte())
	if d.err == nil && scale > DenseMaxScale {
		d.fail("decimal scale %d above %d", scale, DenseMaxScale)
	}
	nexc := d.uvarint()
	if d.err == nil && nexc > uint64(n) {
		d.fail("%d exceptions for %d values", nexc, n)
	}
	if d.err != nil {
		return vs
	}
	base := len(vs)
	vs = append(vs, make([]float64, n)...)
	isExc := make([]bool, n)
	idx := 0
	for k := range int(nexc) {
		step := d.uvarint()
		if k > 0 && step == 0 || step >= uint64(n-idx) {
			d.fail("exception index step %d at index %d of %d", step, idx, n)
			return vs[:base]
		}
		idx += int(step)
		isExc[idx] = true
		vs[base+idx] = math.Float64frombits(d.uint64())
	}
	var prev, prevD int64
	j := 0
	for i := range n {
		if isExc[i] {
			continue
		}
		x := d.varint()
		dd := x
		if mode == denseValuesDoD && j > 1 {
			dd = x + prevD
		}
		prev += dd
		prevD = dd
		vs[base+i] = unscale(prev, scale)
		j++
	}
	if d.err != nil {
		return vs[:base]
	}
	return vs
}
