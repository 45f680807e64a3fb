package query

import (
	"encoding/binary"
	"errors"

	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
)

// errReadOnly is returned when something tries to append to a chunk read
// from the store.
var errReadOnly = errors.New("chunk read from the store is read-only")

// xorChunk presents our stored bytes as a Prometheus chunk. The formats are
// identical (docs/format/chunk.md), so remote read streams the bytes as they
// are; iteration uses our decoder.
type xorChunk struct {
	data []byte
}

var _ pchunkenc.Chunk = (*xorChunk)(nil)

func newXORChunk(data []byte) *xorChunk { return &xorChunk{data: data} }

func (c *xorChunk) Bytes() []byte                         { return c.data }
func (c *xorChunk) Encoding() pchunkenc.Encoding          { return pchunkenc.EncXOR }
func (c *xorChunk) Appender() (pchunkenc.Appender, error) { return nil, errReadOnly }
func (c *xorChunk) Compact()                              {}
func (c *xorChunk) Reset(stream []byte)                   { c.data = stream }

func (c *xorChunk) NumSamples() int {
	if len(c.data) < 2 {
		return 0
	}
	return int(binary.BigEndian.Uint16(c.data))
}

func (c *xorChunk) Iterator(reuse pchunkenc.Iterator) pchunkenc.Iterator {
	if it, ok := reuse.(*chunkIter); ok {
		it.it.Reset(c.data)
		it.cur = false
		return it
	}
	return &chunkIter{it: chunkenc.NewIterator(c.data)}
}

// chunkIter adapts our chunk iterator to the Prometheus interface.
type chunkIter struct {
	it  *chunkenc.Iterator
	cur bool
}

func (c *chunkIter) Next() pchunkenc.ValueType {
	c.cur = c.it.Next()
	if c.cur {
		return pchunkenc.ValFloat
	}
	return pchunkenc.ValNone
}

func (c *chunkIter) Seek(t int64) pchunkenc.ValueType {
	if c.cur {
		if ct, _ := c.it.At(); ct >= t {
			return pchunkenc.ValFloat
		}
	}
	c.cur = c.it.Seek(t)
	if c.cur {
		return pchunkenc.ValFloat
	}
	return pchunkenc.ValNone
}

func (c *chunkIter) At() (int64, float64) { return c.it.At() }
func (c *chunkIter) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("BUG: AtHistogram on an XOR chunk")
}
func (c *chunkIter) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("BUG: AtFloatHistogram on an XOR chunk")
}
func (c *chunkIter) AtT() int64  { t, _ := c.it.At(); return t }
func (c *chunkIter) AtST() int64 { return 0 }
func (c *chunkIter) Err() error  { return c.it.Err() }
