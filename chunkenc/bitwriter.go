package chunkenc

// The bit writer appends straight into the chunk's own buffer so that an
// Append costs no allocation beyond the slice's amortised growth. Bits are
// written most significant first, matching the reader.

// writeBits appends the nb low-order bits of u, most significant first.
// u must have no bits set above bit nb-1 and nb must be in [1, 64].
//
// The common case (the bits fit in the partially filled last byte, as for a
// repeated timestamp delta or value) must stay small enough to inline.
func (c *XORChunk) writeBits(u uint64, nb uint8) {
	if nb <= c.free {
		c.free -= nb
		c.b[len(c.b)-1] |= byte(u << c.free)
		return
	}
	c.writeBitsSlow(u, nb)
}

// writeBitsSlow is writeBits for bits that spill past the last byte.
func (c *XORChunk) writeBitsSlow(u uint64, nb uint8) {
	if c.free > 0 {
		nb -= c.free
		c.b[len(c.b)-1] |= byte(u >> nb)
		c.free = 0
	}
	for nb >= 8 {
		nb -= 8
		c.b = append(c.b, byte(u>>nb))
	}
	if nb > 0 {
		c.free = 8 - nb
		c.b = append(c.b, byte(u<<c.free))
	}
}
