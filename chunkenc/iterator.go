package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Iterator decodes the samples of a chunk in order.
//
// It never panics and always terminates, whatever the bytes: it stops after
// the number of samples the header announces, and reports a stream that ends
// early or holds an impossible encoding through Err.
type Iterator struct {
	br    bitReader
	total int // samples announced by the header
	read  int // samples decoded so far

	t      int64
	v      uint64 // bits of the current value
	tDelta uint64

	leading  uint8
	trailing uint8
	// window is false until a value XOR has opened a leading/trailing
	// window. A resumed Appender needs it to continue like the original
	// encoder.
	window bool

	done bool // Next has returned false
	err  error
}

// NewIterator returns an iterator over the encoded chunk b, which it reads in
// place without copying. If b is shorter than the header, the iterator yields
// nothing and Err wraps ErrCorrupt.
func NewIterator(b []byte) *Iterator {
	it := &Iterator{}
	it.Reset(b)
	return it
}

// Reset repositions the iterator at the start of the encoded chunk b, with
// the same contract as NewIterator.
func (it *Iterator) Reset(b []byte) {
	*it = Iterator{}
	if len(b) < headerSize {
		it.err = fmt.Errorf("%w: %d bytes, need at least the %d-byte header", ErrCorrupt, len(b), headerSize)
		it.done = true
		return
	}
	it.total = int(binary.BigEndian.Uint16(b))
	it.br.reset(b[headerSize:])
}

// At returns the current sample. It is only meaningful after Next or Seek
// returned true.
func (it *Iterator) At() (int64, float64) {
	return it.t, math.Float64frombits(it.v)
}

// Err returns the decoding error that stopped the iterator, wrapping
// ErrCorrupt, or nil.
func (it *Iterator) Err() error {
	return it.err
}

// Seek advances to the first sample whose timestamp is >= t and reports
// whether there is one. It never moves backwards: if the current sample
// already satisfies the condition the iterator stays on it. Once the
// iterator is exhausted Seek returns false.
func (it *Iterator) Seek(t int64) bool {
	if it.done {
		return false
	}
	for it.read == 0 || it.t < t {
		if !it.Next() {
			return false
		}
	}
	return true
}

// Next advances to the next sample and reports whether there is one. It
// returns false at the end of the chunk or on a decoding error (see Err).
func (it *Iterator) Next() bool {
	if it.done || it.read >= it.total {
		it.done = true
		return false
	}
	var ok bool
	switch it.read {
	case 0:
		ok = it.readFirst()
	case 1:
		ok = it.readSecond()
	default:
		ok = it.readSample()
	}
	if !ok {
		it.done = true
		return false
	}
	it.read++
	return true
}

// readSample decodes a sample after the second. Regular scrapes make a zero
// delta-of-delta and often an unchanged value the common case, so both are
// tested straight on the bit buffer before the general decoders.
func (it *Iterator) readSample() bool {
	r := &it.br
	// Topping up here, not only when a read runs dry, keeps most of the
	// reads below on their buffered fast path.
	if r.n < 32 {
		r.refill()
	}
	if r.n >= 1 && r.acc>>63 == 0 {
		r.skip(1)
		it.t += int64(it.tDelta)
		if r.n >= 1 && r.acc>>63 == 0 {
			r.skip(1)
			return true
		}
		return it.readValue()
	}
	return it.readTime() && it.readValue()
}

// fail records a truncated or malformed stream at the current sample.
func (it *Iterator) fail(what string) bool {
	it.err = fmt.Errorf("%w: sample %d of %d: %s at bit %d", ErrCorrupt, it.read, it.total, what, it.br.consumed())
	return false
}

func (it *Iterator) readFirst() bool {
	t, ok := it.br.readVarint()
	if !ok {
		return it.fail("bad or truncated first timestamp")
	}
	v, ok := it.br.readBits(64)
	if !ok {
		return it.fail("truncated first value")
	}
	it.t, it.v = t, v
	return true
}

func (it *Iterator) readSecond() bool {
	d, ok := it.br.readUvarint()
	if !ok {
		return it.fail("bad or truncated first delta")
	}
	it.tDelta = d
	it.t += int64(d)
	return it.readValue()
}

// dodWidth maps the number of leading 1 bits of a timestamp control prefix
// to the width of the delta-of-delta that follows.
var dodWidth = [5]uint8{0, 14, 17, 20, 64}

// readTime decodes a delta-of-delta timestamp: control '0' (dod 0), '10'
// (14 bits), '110' (17 bits), '1110' (20 bits) or '1111' (64 bits).
func (it *Iterator) readTime() bool {
	ctl, avail := it.br.peek(4)
	ones := uint8(0)
	for ones < 4 && ctl&(0b1000>>ones) != 0 {
		ones++
	}
	n := min(ones+1, 4) // length of the control prefix
	if n > avail {
		return it.fail("truncated timestamp")
	}
	it.br.skip(n)
	if ones == 0 {
		it.t += int64(it.tDelta)
		return true
	}
	w := dodWidth[ones]
	u, ok := it.br.readBits(w)
	if !ok {
		return it.fail("truncated delta of delta")
	}
	// Narrow buckets hold [-(2^(w-1)-1), 2^(w-1)]; anything above the
	// positive bound is a negative value in w-bit two's complement.
	if w < 64 && u > 1<<(w-1) {
		u -= 1 << w
	}
	it.tDelta += u
	it.t += int64(it.tDelta)
	return true
}

// readValue decodes a value XOR: control '0' (same value), '10' (XOR bits in
// the current window) or '11' (5 bits leading zeros, 6 bits significant-bit
// count with 0 meaning 64, then the bits).
func (it *Iterator) readValue() bool {
	r := &it.br
	ctl, avail := r.peek(2)
	if avail == 0 {
		return it.fail("truncated value")
	}
	if ctl&0b10 == 0 {
		r.skip(1)
		return true
	}
	if ctl == 0b10 && it.window {
		// Fast path: the XOR reuses the window and is already buffered.
		if sig := 64 - it.leading - it.trailing; 2+sig <= r.n {
			x := r.acc << 2 >> (64 - sig)
			r.skip(2 + sig)
			it.v ^= x << it.trailing
			return true
		}
	}
	if avail < 2 {
		return it.fail("truncated value")
	}
	r.skip(2)
	if ctl == 0b11 {
		if !it.readWindow() {
			return false
		}
	} else if !it.window {
		// Prometheus decodes a reused window before any was opened as
		// leading = trailing = 0, and its resumed appenders can write one;
		// accept it the same way.
		it.leading, it.trailing, it.window = 0, 0, true
	}
	x, ok := r.readBits(64 - it.leading - it.trailing)
	if !ok {
		return it.fail("truncated value bits")
	}
	it.v ^= x << it.trailing
	return true
}

// readWindow decodes the leading-zero and significant-bit counts of a new
// XOR window.
func (it *Iterator) readWindow() bool {
	u, ok := it.br.readBits(5 + 6)
	if !ok {
		return it.fail("truncated value window")
	}
	lead := uint8(u >> 6)
	sig := uint8(u & 63)
	if sig == 0 {
		sig = 64
	}
	if int(lead)+int(sig) > 64 {
		return it.fail(fmt.Sprintf("value window of %d leading zeros and %d significant bits exceeds 64 bits", lead, sig))
	}
	it.leading, it.trailing, it.window = lead, 64-lead-sig, true
	return true
}
