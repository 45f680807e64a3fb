package query

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// countSeries selects every series of each matcher with one querier and
// returns the series read and the first error.
func countSeries(t *testing.T, q storage.Queryable, ms ...*labels.Matcher) (int, error) {
	t.Helper()
	qr, err := q.Querier(0, math.MaxInt64)
	require.NoError(t, err)
	defer qr.Close()
	n := 0
	for _, m := range ms {
		ss := qr.Select(context.Background(), false, nil, m)
		for ss.Next() {
			n++
		}
		if err := ss.Err(); err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestLimitSeriesRefusesQueryOverLimit(t *testing.T) {
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	other := labels.MustNewMatcher(labels.MatchEqual, "__name__", "other")
	limit := 3
	q := LimitSeries(New(openHead(t)), func() int { return limit })

	n, err := countSeries(t, q, up)
	require.NoError(t, err, "3 series under a limit of 3")
	require.Equal(t, 3, n)

	n, err = countSeries(t, q, up, other)
	require.ErrorIs(t, err, ErrSeriesLimit, "the selectors of one querier add up")
	require.ErrorContains(t, err, "more than 3 series, the limit per query (max_fetched_series_per_query)")
	require.Equal(t, 3, n)

	limit = 0
	n, err = countSeries(t, q, up, other)
	require.NoError(t, err, "0 is unlimited, and a new limit applies to the next querier")
	require.Equal(t, 4, n)
}
