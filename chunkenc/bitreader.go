package chunkenc

import "encoding/binary"

// bitReader reads a bit stream most significant bit first.
//
// acc holds the next bits left-aligned: its top n bits are the unread valid
// bits. A fast refill loads 8 bytes at once, which may leave a partial byte
// in acc below the valid bits; the next refill ORs the same byte into the
// same place, so that remainder is harmless.
//
// The last byte of the stream is read from a copy taken at reset time. An
// Appender may still be OR-ing bits of newer samples into that byte, and
// the copy keeps this reader off it; every earlier byte is final.
type bitReader struct {
	b    []byte // the stream, including its last byte
	off  int    // next byte of b to load into acc
	acc  uint64 // unread bits, left-aligned
	n    uint8  // number of valid bits in acc
	last byte   // copy of the stream's last byte
}

func (r *bitReader) reset(b []byte) {
	*r = bitReader{b: b}
	if len(b) > 0 {
		r.last = b[len(b)-1]
	}
}

// consumed returns how many bits have been read so far.
func (r *bitReader) consumed() int {
	return r.off*8 - int(r.n)
}

// refill loads whole bytes until acc holds at least 56 valid bits or the
// stream is exhausted. Callers only refill with fewer than 56 valid bits.
// The common case must stay small enough to inline.
func (r *bitReader) refill() {
	// The fast path never touches the last byte, see the type comment.
	if r.off+8 < len(r.b) {
		r.acc |= binary.BigEndian.Uint64(r.b[r.off:]) >> r.n
		k := (63 - r.n) >> 3
		r.off += int(k)
		r.n += k << 3
		return
	}
	r.refillTail()
}

// refillTail is refill for the last 8 bytes of the stream, loaded one at a
// time.
func (r *bitReader) refillTail() {
	for r.n <= 56 && r.off < len(r.b) {
		byt := r.last
		if r.off < len(r.b)-1 {
			byt = r.b[r.off]
		}
		r.acc |= uint64(byt) << (56 - r.n)
		r.n += 8
		r.off++
	}
}

// readBits returns the next nb bits, nb in [1, 64], as the low-order bits of
// the result. ok is false if the stream holds fewer than nb more bits.
// Kept small enough to inline: it is called for every sample.
func (r *bitReader) readBits(nb uint8) (v uint64, ok bool) {
	if nb > r.n {
		return r.readBitsSlow(nb)
	}
	v = r.acc >> (64 - nb)
	r.acc <<= nb
	r.n -= nb
	return v, true
}

// readBitsSlow is readBits when acc must be refilled first.
func (r *bitReader) readBitsSlow(nb uint8) (uint64, bool) {
	if nb > 32 {
		// acc may not hold 64 bits after a refill; split wide reads.
		hi, ok := r.readBits(nb - 32)
		if !ok {
			return 0, false
		}
		lo, ok := r.readBits(32)
		return hi<<32 | lo, ok
	}
	r.refill()
	if nb > r.n {
		return 0, false
	}
	v := r.acc >> (64 - nb)
	r.acc <<= nb
	r.n -= nb
	return v, true
}

// peek returns the next nb bits, nb in [1, 32], without consuming them;
// avail reports how many of them exist before the end of the stream (the
// bits after those are meaningless).
func (r *bitReader) peek(nb uint8) (v uint64, avail uint8) {
	if nb > r.n {
		r.refill()
	}
	return r.acc >> (64 - nb), min(nb, r.n)
}

// skip consumes nb bits previously returned by peek; nb <= avail.
func (r *bitReader) skip(nb uint8) {
	r.acc <<= nb
	r.n -= nb
}

// readUvarint reads an unsigned varint in the encoding/binary format,
// rejecting the same overlong encodings as binary.ReadUvarint.
func (r *bitReader) readUvarint() (uint64, bool) {
	var x uint64
	for i := uint(0); i < binary.MaxVarintLen64; i++ {
		byt, ok := r.readBits(8)
		if !ok {
			return 0, false
		}
		if byt < 0x80 {
			if i == binary.MaxVarintLen64-1 && byt > 1 {
				return 0, false
			}
			return x | byt<<(7*i), true
		}
		x |= (byt & 0x7f) << (7 * i)
	}
	return 0, false
}

// readVarint reads a zig-zag signed varint in the encoding/binary format.
func (r *bitReader) readVarint() (int64, bool) {
	ux, ok := r.readUvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, ok
}
