package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// noWindow marks an Appender that has not yet chosen a leading/trailing
// zero window for value XORs; the next non-zero XOR always opens one.
const noWindow = 0xff

// Appender appends samples to the end of an XORChunk. Use one Appender per
// chunk at a time.
type Appender struct {
	c *XORChunk

	t      int64  // timestamp of the last sample
	v      uint64 // bits of the last value
	tDelta uint64 // last timestamp delta, as it wraps around in the format

	leading  uint8 // leading zeros of the current XOR window, or noWindow
	trailing uint8 // trailing zeros of the current XOR window
}

// Appender returns an appender positioned after the chunk's last sample. For
// a non-empty chunk it decodes every sample to rebuild the encoder state, so
// that resuming and then appending yields exactly the bytes that appending
// everything at once would have. A decoding error wraps ErrCorrupt.
//
// A chunk made by FromBytes is first copied, so the caller's slice is never
// written; bytes after the last sample, if any, are dropped.
func (c *XORChunk) Appender() (*Appender, error) {
	a := new(Appender)
	if err := a.Reset(c); err != nil {
		return nil, err
	}
	return a, nil
}

// Reset makes a an appender on c, positioned as Appender would position a
// new one, without allocating one: a caller may keep the appender of its
// open chunk inside a struct of its own and reuse it for the next chunk.
// On error a is unchanged; the error wraps ErrCorrupt.
func (a *Appender) Reset(c *XORChunk) error {
	if len(c.b) == headerSize && !c.borrowed {
		c.free = 0
		*a = Appender{c: c, leading: noWindow}
		return nil
	}
	var it Iterator
	it.Reset(c.b)
	for it.Next() {
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("resume appender: %w", err)
	}
	used := it.br.consumed()
	c.adopt(headerSize + (used+7)/8)
	c.free = uint8((8 - used%8) % 8)
	// Zero the padding bits so that later writes, which OR into the last
	// byte, produce the same bytes as an uninterrupted encoder.
	if c.free > 0 {
		c.b[len(c.b)-1] &^= byte(1)<<c.free - 1
	}
	*a = Appender{
		c:        c,
		t:        it.t,
		v:        it.v,
		tDelta:   it.tDelta,
		leading:  it.leading,
		trailing: it.trailing,
	}
	if !it.window {
		a.leading, a.trailing = noWindow, 0
	}
	return nil
}

// adopt cuts the chunk to n bytes and makes sure the chunk owns its buffer,
// copying a borrowed one with room to grow.
func (c *XORChunk) adopt(n int) {
	if !c.borrowed {
		c.b = c.b[:n]
		return
	}
	b := make([]byte, n, max(initialCapacity, n+n/4))
	copy(b, c.b)
	c.b = b
	c.borrowed = false
}

// Append adds a sample after the last one. It returns ErrChunkFull, leaving
// the chunk unchanged, when the chunk already holds MaxSamples samples, and
// performs no other check: keeping timestamps in order is the caller's
// business (any int64 sequence encodes and round-trips). It allocates only
// when the chunk's buffer grows.
func (a *Appender) Append(t int64, v float64) error {
	c := a.c
	n := binary.BigEndian.Uint16(c.b)
	vb := math.Float64bits(v)
	switch n {
	case 0:
		// The first sample is byte aligned: a zig-zag varint timestamp
		// and the raw value bits.
		c.b = binary.AppendVarint(c.b, t)
		c.b = binary.BigEndian.AppendUint64(c.b, vb)
	case 1:
		// Still byte aligned: the first delta as an unsigned varint.
		a.tDelta = uint64(t - a.t)
		c.b = binary.AppendUvarint(c.b, a.tDelta)
		a.writeValue(vb)
	case MaxSamples:
		return ErrChunkFull
	default:
		a.writeTime(t)
		a.writeValue(vb)
	}
	a.t = t
	a.v = vb
	binary.BigEndian.PutUint16(c.b, n+1)
	return nil
}

// writeTime encodes t as the difference between its delta and the previous
// delta. Gorilla sized its buckets for second resolution; Prometheus keeps
// milliseconds, so the buckets are 14, 17 and 20 bits wide instead of 7, 9
// and 12. Each bucket holds [-(2^(w-1)-1), 2^(w-1)]: the most negative
// two's-complement value is given up so that the decoder can map values
// above 2^(w-1) back to negatives.
func (a *Appender) writeTime(t int64) {
	d := uint64(t - a.t)
	dod := int64(d - a.tDelta)
	a.tDelta = d
	switch {
	case dod == 0:
		a.c.writeBits(0b0, 1)
	case inBucket(dod, 14):
		a.c.writeBits(0b10<<14|uint64(dod)&(1<<14-1), 2+14)
	case inBucket(dod, 17):
		a.c.writeBits(0b110<<17|uint64(dod)&(1<<17-1), 3+17)
	case inBucket(dod, 20):
		a.c.writeBits(0b1110<<20|uint64(dod)&(1<<20-1), 4+20)
	default:
		a.c.writeBits(0b1111, 4)
		a.c.writeBits(uint64(dod), 64)
	}
}

// inBucket reports whether x lies in [-(2^(w-1)-1), 2^(w-1)], the range a
// w-bit delta-of-delta bucket holds.
func inBucket(x int64, w uint8) bool {
	return -(int64(1)<<(w-1)-1) <= x && x <= int64(1)<<(w-1)
}

// writeValue encodes the value bits vb as their XOR with the previous value.
func (a *Appender) writeValue(vb uint64) {
	x := vb ^ a.v
	if x == 0 {
		a.c.writeBits(0b0, 1)
		return
	}
	lead := uint8(bits.LeadingZeros64(x))
	trail := uint8(bits.TrailingZeros64(x))
	// The leading-zero count has only 5 bits in the format.
	lead = min(lead, 31)

	if a.leading != noWindow && lead >= a.leading && trail >= a.trailing {
		// The XOR fits the current window: '10' and the window's bits.
		sig := 64 - a.leading - a.trailing
		if sig <= 62 {
			a.c.writeBits(0b10<<sig|x>>a.trailing, 2+sig)
			return
		}
		a.c.writeBits(0b10, 2)
		a.c.writeBits(x>>a.trailing, sig)
		return
	}

	// Open a new window: '11', 5 bits of leading zeros, 6 bits of
	// significant-bit count, then the significant bits. A count of 64 does
	// not fit in 6 bits and is written as 0, which is otherwise unused since
	// a zero XOR takes the '0' path.
	a.leading, a.trailing = lead, trail
	sig := 64 - lead - trail
	ctl := uint64(0b11)<<11 | uint64(lead)<<6 | uint64(sig&63)
	if sig <= 64-13 {
		a.c.writeBits(ctl<<sig|x>>trail, 13+sig)
		return
	}
	a.c.writeBits(ctl, 13)
	a.c.writeBits(x>>trail, sig)
}
