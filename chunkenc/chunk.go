package chunkenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Format constants. They are part of the on-disk and on-wire format shared
// with Prometheus and must not change.
const (
	// EncXOR is the encoding byte Prometheus uses for XOR chunks in block
	// segment files and remote-read responses.
	EncXOR = 1

	// MaxSamples is the largest number of samples a chunk can hold: the
	// sample count is stored in a 16-bit header.
	MaxSamples = math.MaxUint16

	// headerSize is the size of the big-endian sample count that starts
	// every chunk.
	headerSize = 2

	// initialCapacity is the capacity of a new chunk's buffer: enough for
	// roughly 60-100 typical samples before the first growth.
	initialCapacity = 128
)

var (
	// ErrChunkFull is returned by Appender.Append when the chunk already
	// holds MaxSamples samples. The chunk is left unchanged.
	ErrChunkFull = errors.New("chunkenc: chunk holds the maximum number of samples")

	// ErrCorrupt is the sentinel for malformed chunk bytes. Every decoding
	// error wraps it, so callers test with errors.Is(err, ErrCorrupt).
	ErrCorrupt = errors.New("chunkenc: corrupt chunk")
)

// XORChunk is a chunk of float samples in the Prometheus XOR encoding.
//
// A chunk is not safe for concurrent mutation. An Iterator obtained from a
// chunk may be used while an Appender keeps appending to it, provided the
// Iterator call itself is synchronised with Append: the iterator only reads
// the samples present when it was created.
type XORChunk struct {
	b []byte
	// free is the number of unused low-order bits of the last byte of b;
	// the next bit written goes there. Only meaningful for chunks whose
	// write state is known (new chunks, or after Appender()).
	free uint8
	// borrowed marks a chunk that wraps a caller's slice (FromBytes). Such
	// a slice is never written: Appender copies it first.
	borrowed bool
}

// NewXORChunk returns an empty chunk with a small initial capacity.
func NewXORChunk() *XORChunk {
	b := make([]byte, headerSize, initialCapacity)
	return &XORChunk{b: b}
}

// InitEmpty makes c an empty chunk with a new buffer of capacity bytes
// (raised to the 2-byte header if smaller), dropping what c held. It lets a
// caller embed the chunk in a struct of its own and start it small, so that
// a chunk that will hold a few samples does not take initialCapacity bytes;
// appending grows the buffer as needed.
func (c *XORChunk) InitEmpty(capacity int) {
	*c = XORChunk{b: make([]byte, headerSize, max(capacity, headerSize))}
}

// FromBytes returns a chunk that wraps b without copying it. b must hold at
// least the 2-byte header; otherwise the error wraps ErrCorrupt. The samples
// are not validated here: decoding errors surface from the Iterator.
// The chunk never writes into b; Appender works on a private copy.
func FromBytes(b []byte) (*XORChunk, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, need at least the %d-byte header", ErrCorrupt, len(b), headerSize)
	}
	return &XORChunk{b: b, borrowed: true}, nil
}

// Bytes returns the chunk in its encoded form. The slice aliases the chunk's
// buffer: it is valid until the next Append or Compact and must not be
// modified.
func (c *XORChunk) Bytes() []byte {
	return c.b
}

// NumSamples returns the sample count stored in the chunk header.
func (c *XORChunk) NumSamples() int {
	return int(binary.BigEndian.Uint16(c.b))
}

// Compact shrinks the buffer's capacity to its length, so that a chunk that
// will receive no more samples does not pin unused memory. It is a no-op for
// chunks that are already tight or that wrap a caller's slice.
func (c *XORChunk) Compact() {
	if c.borrowed || cap(c.b) == len(c.b) {
		return
	}
	b := make([]byte, len(c.b))
	copy(b, c.b)
	c.b = b
}

// Iterator returns an iterator over the chunk's samples. If reuse is not
// nil it is reset and returned, which avoids an allocation.
func (c *XORChunk) Iterator(reuse *Iterator) *Iterator {
	if reuse == nil {
		return NewIterator(c.b)
	}
	reuse.Reset(c.b)
	return reuse
}

// MinMaxTime decodes the chunk and returns the smallest and largest sample
// timestamps. An empty chunk yields mint = math.MaxInt64 and
// maxt = math.MinInt64 with a nil error, so that folding min/max over many
// chunks ignores it. A decoding error wraps ErrCorrupt.
func (c *XORChunk) MinMaxTime() (mint, maxt int64, err error) {
	mint, maxt = math.MaxInt64, math.MinInt64
	var it Iterator
	it.Reset(c.b)
	for it.Next() {
		t := it.t
		mint = min(mint, t)
		maxt = max(maxt, t)
	}
	if err := it.Err(); err != nil {
		return 0, 0, err
	}
	return mint, maxt, nil
}
