package query

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// Head is what the queryable needs of the in-memory store.
type Head interface {
	Select(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]*head.Series, error)
	LabelNames() []string
	LabelValues(name string) []string
	BlockDuration() int64
}

// Queryable serves queries from the head. It implements
// storage.SampleAndChunkQueryable.
type Queryable struct {
	head Head
}

var _ storage.SampleAndChunkQueryable = (*Queryable)(nil)

// New returns a Queryable over h.
func New(h Head) *Queryable { return &Queryable{head: h} }

// Querier returns a querier over [mint, maxt].
func (q *Queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{labelQuerier{q.head, mint, maxt}}, nil
}

// ChunkQuerier returns a chunk querier over [mint, maxt].
func (q *Queryable) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	return &chunkQuerier{labelQuerier{q.head, mint, maxt}}, nil
}

// labelQuerier answers label questions; both queriers embed it.
type labelQuerier struct {
	head       Head
	mint, maxt int64
}

// selectRange narrows the querier's range by the hints.
func (q *labelQuerier) selectRange(hints *storage.SelectHints) (int64, int64) {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	return mint, maxt
}

func (q *labelQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if len(ms) == 0 {
		return limit(q.head.LabelValues(name), hints), nil, nil
	}
	series, err := q.head.Select(ctx, q.mint, q.maxt, ms...)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, s := range series {
		if v := s.Labels.Get(name); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return limit(slices.Compact(out), hints), nil, nil
}

func (q *labelQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if len(ms) == 0 {
		return limit(q.head.LabelNames(), hints), nil, nil
	}
	series, err := q.head.Select(ctx, q.mint, q.maxt, ms...)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, s := range series {
		s.Labels.Range(func(l labels.Label) { out = append(out, l.Name) })
	}
	slices.Sort(out)
	return limit(slices.Compact(out), hints), nil, nil
}

func (q *labelQuerier) Close() error { return nil }

func limit(vals []string, hints *storage.LabelHints) []string {
	if hints != nil && hints.Limit > 0 && len(vals) > hints.Limit {
		return vals[:hints.Limit]
	}
	return vals
}

type querier struct{ labelQuerier }

// Select returns the matching series, always sorted by labels (the head
// sorts them anyway).
func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.selectRange(hints)
	series, err := q.head.Select(ctx, mint, maxt, ms...)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	if hints != nil && hints.Limit > 0 && len(series) > hints.Limit {
		series = series[:hints.Limit]
	}
	return &seriesSet{series: series, i: -1}
}

type chunkQuerier struct{ labelQuerier }

// Select returns the matching series as chunks, sorted by labels.
func (q *chunkQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	mint, maxt := q.selectRange(hints)
	series, err := q.head.Select(ctx, mint, maxt, ms...)
	if err != nil {
		return storage.ErrChunkSeriesSet(err)
	}
	if hints != nil && hints.Limit > 0 && len(series) > hints.Limit {
		series = series[:hints.Limit]
	}
	return &chunkSeriesSet{series: series, i: -1, blockDuration: q.head.BlockDuration()}
}
