package query

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

type seriesSet struct {
	parts   []part
	i       int
	warns   annotations.Annotations // block chunks left out (see corrupt.go)
	corrupt *corruptChunks
	// series hold what At hands out, one per part, allocated together
	// at the first At: the engine keeps every series of a selection.
	series []sampleSeries
}

func (s *seriesSet) Next() bool { s.i++; return s.i < len(s.parts) }
func (s *seriesSet) At() storage.Series {
	if s.series == nil {
		s.series = make([]sampleSeries, len(s.parts))
	}
	ss := &s.series[s.i]
	*ss = sampleSeries{p: &s.parts[s.i], corrupt: s.corrupt}
	return ss
}
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return s.warns }

type sampleSeries struct {
	p       *part
	corrupt *corruptChunks
}

func (s *sampleSeries) Labels() labels.Labels { return s.p.labels }

// Iterator walks the block samples, then the head's. A chunk that fails to
// decode ends the iteration with an error naming the series and the chunk,
// counted and logged (see corrupt.go).
func (s *sampleSeries) Iterator(reuse pchunkenc.Iterator) pchunkenc.Iterator {
	if len(s.p.deleted) > 0 {
		if m, ok := reuse.(*maskedIterator); ok {
			reuse = m.it
		}
		return newMaskedIterator(s.iterator(reuse), s.p.deleted)
	}
	return s.iterator(reuse)
}

// iterator is Iterator without the tombstones.
func (s *sampleSeries) iterator(reuse pchunkenc.Iterator) pchunkenc.Iterator {
	if s.p.block == nil && s.p.blockHist == nil {
		return headSamples(s.p.head, s.corrupt, reuse)
	}
	bi := newBlockIterator(s.p.block, s.p.bmint, s.p.bmaxt)
	if s.corrupt != nil {
		lset := s.p.labels
		bi.onErr = func(c model.Chunk, err error) error {
			return s.corrupt.report("block", lset, fmt.Sprintf("[%d, %d]", c.MinT, c.MaxT), err)
		}
	}
	var blocks pchunkenc.Iterator = bi
	if len(s.p.blockHist) > 0 {
		blocks = newMergeIterator(bi, head.NewHistIterator(blockHistChunks(s.p.blockHist), s.p.bmint, s.p.bmaxt))
	}
	if s.p.head == nil {
		return blocks
	}
	return &concatIterator{its: []pchunkenc.Iterator{blocks, headSamples(s.p.head, s.corrupt, nil)}}
}

// blockHistChunks converts block histogram chunks for the head's iterator.
func blockHistChunks(cs []model.HistogramChunk) []head.HistChunk {
	out := make([]head.HistChunk, len(cs))
	for i, c := range cs {
		out[i] = head.FromModel(c)
	}
	return out
}

// floatIterator adapts a head series iterator to the engine's iterator.
// It holds the head's iterator by value: one allocation per series, and
// none when the engine hands it back for the next.
type floatIterator struct {
	it      head.SeriesIterator
	lset    labels.Labels
	corrupt *corruptChunks // nil: errors are returned as they are
	err     error
}

// reset points f at the samples of s, with the labels and the corruption
// report of its series, keeping the decoder's memory.
func (f *floatIterator) reset(s *head.Series, lset labels.Labels, corrupt *corruptChunks) {
	s.Iterator(&f.it)
	f.lset, f.corrupt, f.err = lset, corrupt, nil
}

func (f *floatIterator) Next() pchunkenc.ValueType {
	if f.it.Next() {
		return pchunkenc.ValFloat
	}
	f.fail()
	return pchunkenc.ValNone
}

// fail takes up the head iterator's error, once, when it stops.
func (f *floatIterator) fail() {
	err := f.it.Err()
	if err == nil || f.err != nil {
		return
	}
	f.err = err
	if f.corrupt != nil {
		f.err = f.corrupt.report("head", f.lset, "in memory", err)
	}
}

func (f *floatIterator) Seek(t int64) pchunkenc.ValueType {
	if f.it.Seek(t) {
		return pchunkenc.ValFloat
	}
	f.fail()
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
func (f *floatIterator) Err() error  { return f.err }

type chunkSeriesSet struct {
	parts   []part
	i       int
	warns   annotations.Annotations // block chunks left out (see corrupt.go)
	corrupt *corruptChunks
}

func (s *chunkSeriesSet) Next() bool { s.i++; return s.i < len(s.parts) }
func (s *chunkSeriesSet) At() storage.ChunkSeries {
	return &chunkSeries{p: &s.parts[s.i], corrupt: s.corrupt}
}
func (s *chunkSeriesSet) Err() error                        { return nil }
func (s *chunkSeriesSet) Warnings() annotations.Annotations { return s.warns }

type chunkSeries struct {
	p       *part
	corrupt *corruptChunks
}

func (c *chunkSeries) Labels() labels.Labels { return c.p.labels }

// Iterator yields the block chunks, then the head's, as stored. Chunks may
// reach past the query range; remote read trims those.
// A head chunk that does not decode where out-of-order samples must be
// merged into it ends the iteration with an error naming the series.
func (c *chunkSeries) Iterator(chunks.Iterator) chunks.Iterator {
	metas := c.p.block
	if c.p.head != nil {
		hc, err := c.p.head.Chunks()
		if err != nil {
			if c.corrupt != nil {
				return &chunkIterator{err: c.corrupt.report("head", c.p.labels, "in memory", err)}
			}
			return &chunkIterator{err: fmt.Errorf("series %s: %w", c.p.labels, err)}
		}
		metas = append(metas[:len(metas):len(metas)], hc...)
	}
	metas, err := maskChunks(metas, c.p.deleted)
	if err != nil {
		return &chunkIterator{err: fmt.Errorf("series %s: %w", c.p.labels, err)}
	}
	it := &chunkIterator{metas: metas, i: -1}
	hist := blockHistChunks(c.p.blockHist)
	if c.p.head != nil {
		hist = append(hist, c.p.head.HistChunks()...)
	}
	if it.hist, err = maskHistChunks(hist, c.p.deleted); err != nil {
		return &chunkIterator{err: fmt.Errorf("series %s: %w", c.p.labels, err)}
	}
	return it
}

// chunkIterator yields the stored chunks as XOR chunks of the Prometheus
// format: the bytes are identical, so they are wrapped, not re-encoded.
// The head's native histogram chunks follow, in their Prometheus
// encodings, as stored.
type chunkIterator struct {
	metas []head.ChunkMeta
	hist  []head.HistChunk
	i     int
	cur   chunks.Meta
	err   error // set instead of metas when the chunks could not be read
}

func (c *chunkIterator) Next() bool {
	c.i++
	if c.i < len(c.metas) {
		m := c.metas[c.i]
		c.cur = chunks.Meta{Chunk: newXORChunk(m.Data), MinTime: m.MinT, MaxTime: m.MaxT}
		return true
	}
	k := c.i - len(c.metas)
	if c.err != nil || k >= len(c.hist) {
		return false
	}
	m := c.hist[k]
	chk, err := m.Chunk()
	if err != nil {
		c.err = fmt.Errorf("histogram chunk [%d, %d]: %w", m.MinT, m.MaxT, err)
		return false
	}
	c.cur = chunks.Meta{Chunk: chk, MinTime: m.MinT, MaxTime: m.MaxT}
	return true
}

func (c *chunkIterator) Err() error      { return c.err }
func (c *chunkIterator) At() chunks.Meta { return c.cur }
