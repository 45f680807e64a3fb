package query

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// ErrSeriesLimit is returned, wrapped in a message naming the limit, by a
// query of a LimitSeries queryable that selects more series than it allows.
var ErrSeriesLimit = errors.New("query selects too many series")

// SeriesLimitKey is the name of the per-query series limit in error
// messages: its key in the limits file.
const SeriesLimitKey = "max_fetched_series_per_query"

// LimitSeries returns q with a bound on the series one querier selects,
// summed over all its Select calls: a PromQL query (one querier for all
// its selectors) or a /api/v1/series request (one for all its match[]).
// limit is asked once per querier, so a change applies to the next query;
// a limit of 0 or less means unlimited. Past the limit the querier's
// series sets stop and their Err is ErrSeriesLimit, wrapped in a message
// that names the limit and its value.
func LimitSeries(q storage.Queryable, limit func() int) storage.Queryable {
	return &seriesLimited{q: q, limit: limit}
}

type seriesLimited struct {
	q     storage.Queryable
	limit func() int
}

// Querier implements storage.Queryable.
func (s *seriesLimited) Querier(mint, maxt int64) (storage.Querier, error) {
	qr, err := s.q.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	n := s.limit()
	if n <= 0 {
		return qr, nil
	}
	return &seriesLimitedQuerier{Querier: qr, limit: int64(n)}, nil
}

// seriesLimitedQuerier counts the series its Selects return; the engine
// may iterate several series sets of one querier at once, so the count is
// atomic.
type seriesLimitedQuerier struct {
	storage.Querier
	limit int64
	seen  atomic.Int64
}

// Select implements storage.Querier.
func (q *seriesLimitedQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return &seriesLimitedSet{SeriesSet: q.Querier.Select(ctx, sortSeries, hints, ms...), q: q}
}

type seriesLimitedSet struct {
	storage.SeriesSet
	q   *seriesLimitedQuerier
	err error
}

// Next implements storage.SeriesSet: false once the querier's series pass
// the limit.
func (s *seriesLimitedSet) Next() bool {
	if s.err != nil || !s.SeriesSet.Next() {
		return false
	}
	if s.q.seen.Add(1) > s.q.limit {
		s.err = fmt.Errorf("%w: more than %d series, the limit per query (%s)", ErrSeriesLimit, s.q.limit, SeriesLimitKey)
		return false
	}
	return true
}

// Err implements storage.SeriesSet.
func (s *seriesLimitedSet) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.SeriesSet.Err()
}
