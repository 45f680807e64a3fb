package promql

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// resultQueryable serves the rewritten query of a sharded one: a selector
// of a slot's answers (shardMetric + slot) gets the shards' answer
// series, any other selection goes to the store.
type resultQueryable struct {
	base  storage.Queryable
	slots [][]storage.Series // by slot, sorted by labels
}

func (r *resultQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &resultQuerier{r: r, mint: mint, maxt: maxt}, nil
}

// resultQuerier opens the store's querier only when a selection needs it.
type resultQuerier struct {
	r          *resultQueryable
	mint, maxt int64
	base       storage.Querier
}

func (q *resultQuerier) store() (storage.Querier, error) {
	if q.base == nil {
		b, err := q.r.base.Querier(q.mint, q.maxt)
		if err != nil {
			return nil, err
		}
		q.base = b
	}
	return q.base, nil
}

// slot returns the slot a selector of shard answers reads, or -1 for a
// selection of the store.
func slotOf(ms []*labels.Matcher) int {
	for _, m := range ms {
		if m.Name != labels.MetricName || m.Type != labels.MatchEqual {
			continue
		}
		if rest, ok := strings.CutPrefix(m.Value, shardMetric); ok {
			if n, err := strconv.Atoi(rest); err == nil {
				return n
			}
		}
	}
	return -1
}

func (q *resultQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if k := slotOf(ms); k >= 0 && k < len(q.r.slots) {
		return &sliceSeriesSet{series: q.r.slots[k], i: -1}
	}
	b, err := q.store()
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	return b.Select(ctx, sortSeries, hints, ms...)
}

func (q *resultQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	b, err := q.store()
	if err != nil {
		return nil, nil, err
	}
	return b.LabelValues(ctx, name, hints, ms...)
}

func (q *resultQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	b, err := q.store()
	if err != nil {
		return nil, nil, err
	}
	return b.LabelNames(ctx, hints, ms...)
}

func (q *resultQuerier) Close() error {
	if q.base == nil {
		return nil
	}
	return q.base.Close()
}

// steps are the evaluation times of a query: start, start+step, ... end.
type steps struct{ start, end, step int64 }

// answerSeries turns shard's answer (a Matrix of a range query, a Vector
// of an instant one) into series the rewritten query reads, labelled
// with the shard. The points are copied: the engine reuses the answer's
// memory once its query is closed.
func answerSeries(v any, shard int, st steps) []storage.Series {
	var m upstream.Matrix
	switch v := v.(type) {
	case upstream.Matrix:
		m = v
	case upstream.Vector:
		for _, s := range v {
			ser := upstream.Series{Metric: s.Metric}
			if s.H != nil {
				ser.Histograms = []upstream.HPoint{{T: s.T, H: s.H}}
			} else {
				ser.Floats = []upstream.FPoint{{T: s.T, F: s.F}}
			}
			m = append(m, ser)
		}
	}
	out := make([]storage.Series, 0, len(m))
	sv := strconv.Itoa(shard)
	for _, s := range m {
		b := labels.NewBuilder(s.Metric)
		b.Set(shardLabel, sv)
		hs := make([]upstream.HPoint, len(s.Histograms))
		for i, p := range s.Histograms {
			hs[i] = upstream.HPoint{T: p.T, H: p.H.Copy()}
		}
		out = append(out, &answer{lset: b.Labels(), floats: slices.Clone(s.Floats), hists: hs, st: st})
	}
	return out
}

// answer is one series of a shard's answer. Its iterator yields a point at
// every step: the answer's, or a stale marker where the answer has none,
// so that the rewritten query's selector never looks back to an earlier
// step.
type answer struct {
	lset   labels.Labels
	floats []upstream.FPoint
	hists  []upstream.HPoint
	st     steps
}

func (a *answer) Labels() labels.Labels { return a.lset }

func (a *answer) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return &answerIterator{a: a, t: a.st.start - a.st.step}
}

// answerIterator walks an answer step by step.
type answerIterator struct {
	a      *answer
	fi, hi int   // next float and histogram point
	t      int64 // current step
	f      float64
	h      *histogram.FloatHistogram // nil: the current point is a float
	cur    chunkenc.ValueType        // of the current point; ValNone before the first
	done   bool
}

func (it *answerIterator) Next() chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	it.t += it.a.st.step
	if it.t > it.a.st.end {
		it.done, it.cur = true, chunkenc.ValNone
		return it.cur
	}
	for it.fi < len(it.a.floats) && it.a.floats[it.fi].T < it.t {
		it.fi++
	}
	for it.hi < len(it.a.hists) && it.a.hists[it.hi].T < it.t {
		it.hi++
	}
	switch {
	case it.fi < len(it.a.floats) && it.a.floats[it.fi].T == it.t:
		it.f, it.h, it.cur = it.a.floats[it.fi].F, nil, chunkenc.ValFloat
	case it.hi < len(it.a.hists) && it.a.hists[it.hi].T == it.t:
		it.h, it.cur = it.a.hists[it.hi].H, chunkenc.ValFloatHistogram
	default:
		it.f, it.h, it.cur = math.Float64frombits(value.StaleNaN), nil, chunkenc.ValFloat
	}
	return it.cur
}

func (it *answerIterator) Seek(t int64) chunkenc.ValueType {
	if it.cur != chunkenc.ValNone && it.t >= t {
		return it.cur
	}
	for {
		if vt := it.Next(); vt == chunkenc.ValNone || it.t >= t {
			return vt
		}
	}
}

func (it *answerIterator) At() (int64, float64) { return it.t, it.f }

func (it *answerIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("BUG: AtHistogram on a shard answer, which holds float histograms")
}

func (it *answerIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if fh == nil {
		return it.t, it.h.Copy()
	}
	it.h.CopyTo(fh)
	return it.t, fh
}

func (it *answerIterator) AtT() int64  { return it.t }
func (it *answerIterator) AtST() int64 { return 0 }
func (it *answerIterator) Err() error  { return nil }
