package query

import (
	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// mergeIterator merges two iterators that are each in time order: a
// series' float samples and its native histograms, which the head keeps
// apart. At a timestamp both hold (which the head refuses to create), a
// is kept and b's sample dropped.
type mergeIterator struct {
	a, b    pchunkenc.Iterator
	av, bv  pchunkenc.ValueType // current value type of each side
	started bool
	cur     pchunkenc.Iterator // the side At reads; nil when done
}

func newMergeIterator(a, b pchunkenc.Iterator) *mergeIterator {
	return &mergeIterator{a: a, b: b}
}

func (m *mergeIterator) Next() pchunkenc.ValueType {
	switch {
	case !m.started:
		m.started = true
		m.av, m.bv = m.a.Next(), m.b.Next()
	case m.cur == m.a:
		m.av = m.a.Next()
	case m.cur == m.b:
		m.bv = m.b.Next()
	default:
		return pchunkenc.ValNone
	}
	return m.pick()
}

func (m *mergeIterator) Seek(t int64) pchunkenc.ValueType {
	if !m.started {
		m.started = true
		m.av, m.bv = m.a.Seek(t), m.b.Seek(t)
		return m.pick()
	}
	if m.cur == nil {
		return pchunkenc.ValNone
	}
	if m.av != pchunkenc.ValNone && m.a.AtT() < t {
		m.av = m.a.Seek(t)
	}
	if m.bv != pchunkenc.ValNone && m.b.AtT() < t {
		m.bv = m.b.Seek(t)
	}
	return m.pick()
}

// pick chooses the side with the earlier sample, dropping b's sample at a
// timestamp a holds too.
func (m *mergeIterator) pick() pchunkenc.ValueType {
	if m.a.Err() != nil || m.b.Err() != nil {
		m.cur = nil
		return pchunkenc.ValNone
	}
	for m.av != pchunkenc.ValNone && m.bv != pchunkenc.ValNone && m.a.AtT() == m.b.AtT() {
		m.bv = m.b.Next()
	}
	switch {
	case m.av == pchunkenc.ValNone && m.bv == pchunkenc.ValNone:
		m.cur = nil
		return pchunkenc.ValNone
	case m.bv == pchunkenc.ValNone || (m.av != pchunkenc.ValNone && m.a.AtT() < m.b.AtT()):
		m.cur = m.a
		return m.av
	default:
		m.cur = m.b
		return m.bv
	}
}

func (m *mergeIterator) At() (int64, float64) { return m.cur.At() }

func (m *mergeIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return m.cur.AtHistogram(h)
}

func (m *mergeIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return m.cur.AtFloatHistogram(fh)
}

func (m *mergeIterator) AtT() int64  { return m.cur.AtT() }
func (m *mergeIterator) AtST() int64 { return 0 }

func (m *mergeIterator) Err() error {
	if err := m.a.Err(); err != nil {
		return err
	}
	return m.b.Err()
}
