package query

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/head"
)

type seriesSet struct {
	parts []part
	i     int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.parts) }
func (s *seriesSet) At() storage.Series                { return &sampleSeries{&s.parts[s.i]} }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

type sampleSeries struct{ p *part }

func (s *sampleSeries) Labels() labels.Labels { return s.p.labels }

// Iterator walks the block samples, then the head's.
func (s *sampleSeries) Iterator(reuse pchunkenc.Iterator) pchunkenc.Iterator {
	if s.p.block == nil {
		if it, ok := reuse.(*floatIterator); ok {
			it.it = s.p.head.Iterator(it.it)
			return it
		}
		return &floatIterator{it: s.p.head.Iterator(nil)}
	}
	bi := newBlockIterator(s.p.block, s.p.bmint, s.p.bmaxt)
	if s.p.head == nil {
		return bi
	}
	return &concatIterator{its: []pchunkenc.Iterator{bi, &floatIterator{it: s.p.head.Iterator(nil)}}}
}

// floatIterator adapts a head series iterator to the engine's iterator.
type floatIterator struct {
	it *head.SeriesIterator
}

func (f *floatIterator) Next() pchunkenc.ValueType {
	if f.it.Next() {
		return pchunkenc.ValFloat
	}
	return pchunkenc.ValNone
}

func (f *floatIterator) Seek(t int64) pchunkenc.ValueType {
	if f.it.Seek(t) {
		return pchunkenc.ValFloat
	}
	return pchunkenc.ValNone
}

func (f *floatIterator) At() (int64, float64) { return f.it.At() }

// The head stores floats only; the histogram accessors are never called
// for an iterator that reports ValFloat.
func (f *floatIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("BUG: AtHistogram on a float series")
}

func (f *floatIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("BUG: AtFloatHistogram on a float series")
}

func (f *floatIterator) AtT() int64  { t, _ := f.it.At(); return t }
func (f *floatIterator) AtST() int64 { return 0 }
func (f *floatIterator) Err() error  { return f.it.Err() }

type chunkSeriesSet struct {
	parts []part
	i     int
}

func (s *chunkSeriesSet) Next() bool { s.i++; return s.i < len(s.parts) }
func (s *chunkSeriesSet) At() storage.ChunkSeries {
	return &chunkSeries{p: &s.parts[s.i]}
}
func (s *chunkSeriesSet) Err() error                        { return nil }
func (s *chunkSeriesSet) Warnings() annotations.Annotations { return nil }

type chunkSeries struct {
	p *part
}

func (c *chunkSeries) Labels() labels.Labels { return c.p.labels }

// Iterator yields the block chunks, then the head's, as stored. Chunks may
// reach past the query range; remote read trims those.
func (c *chunkSeries) Iterator(chunks.Iterator) chunks.Iterator {
	metas := c.p.block
	if c.p.head != nil {
		metas = append(metas[:len(metas):len(metas)], c.p.head.Chunks()...)
	}
	return &chunkIterator{metas: metas, i: -1}
}

// chunkIterator yields the stored chunks as XOR chunks of the Prometheus
// format: the bytes are identical, so they are wrapped, not re-encoded.
type chunkIterator struct {
	metas []head.ChunkMeta
	i     int
}

func (c *chunkIterator) Next() bool { c.i++; return c.i < len(c.metas) }
func (c *chunkIterator) Err() error { return nil }
func (c *chunkIterator) At() chunks.Meta {
	m := c.metas[c.i]
	return chunks.Meta{Chunk: newXORChunk(m.Data), MinTime: m.MinT, MaxTime: m.MaxT}
}
