package query

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// selectHeadOnly answers a Select that reads the head alone, the common
// case of a query over recent data: [mint, maxt] starts at or after the
// boundary, so no block is read, and nothing is deleted, so no series is
// masked. It hands out the head's snapshots as they are, without a part
// per series; ok is false when the select is not of that kind and
// selectParts must answer it.
func (q *querier) selectHeadOnly(ctx context.Context, mint, maxt int64, sorted bool, hints *storage.SelectHints, ms []*labels.Matcher) (ss storage.SeriesSet, ok bool) {
	if mint < q.q.boundary() || (q.q.tombs != nil && len(q.q.tombs.List()) > 0) {
		return nil, false
	}
	hs, err := q.q.selectHead(ctx, mint, maxt, ms, sorted)
	if err != nil {
		return storage.ErrSeriesSet(err), true
	}
	if hints != nil && hints.Limit > 0 && len(hs) > hints.Limit {
		hs = hs[:hints.Limit]
	}
	return &headSeriesSet{series: hs, i: -1, corrupt: q.q.corrupt}, true
}

// headSeriesSet is the series set of selectHeadOnly.
type headSeriesSet struct {
	series  []*head.Series
	i       int
	corrupt *corruptChunks
	// out hold what At hands out, allocated together at the first At:
	// the engine keeps every series of a selection.
	out []headSeries
}

func (s *headSeriesSet) Next() bool { s.i++; return s.i < len(s.series) }

func (s *headSeriesSet) At() storage.Series {
	if s.out == nil {
		s.out = make([]headSeries, len(s.series))
	}
	hs := &s.out[s.i]
	*hs = headSeries{s: s.series[s.i], corrupt: s.corrupt}
	return hs
}

func (s *headSeriesSet) Err() error                        { return nil }
func (s *headSeriesSet) Warnings() annotations.Annotations { return nil }

// headSeries is one series of a headSeriesSet.
type headSeries struct {
	s       *head.Series
	corrupt *corruptChunks
}

func (h *headSeries) Labels() labels.Labels { return h.s.Labels }

// Iterator walks the snapshot's samples, as sampleSeries does for a part
// that has only the head's.
func (h *headSeries) Iterator(reuse pchunkenc.Iterator) pchunkenc.Iterator {
	return headSamples(h.s, h.corrupt, reuse)
}

// headSamples iterates over the samples of the head snapshot s: its
// floats, merged with its native histograms when it has any. reuse, when
// it is an iterator headSamples returned before, is reused. Decoding
// errors are reported through corrupt, when set.
func headSamples(s *head.Series, corrupt *corruptChunks, reuse pchunkenc.Iterator) pchunkenc.Iterator {
	if len(s.HistChunks()) > 0 {
		floats := &floatIterator{}
		floats.reset(s, s.Labels, corrupt)
		return newMergeIterator(floats, s.HistIterator())
	}
	it, ok := reuse.(*floatIterator)
	if !ok {
		it = &floatIterator{}
	}
	it.reset(s, s.Labels, corrupt)
	return it
}
