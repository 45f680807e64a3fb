package limits

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestSeriesTrackerLimits(t *testing.T) {
	tr := NewSeriesTracker(overrides(t, Limits{MaxSeries: 3, MaxSeriesPerMetric: 2}), nil)
	ts := tr.ForTenant(Anonymous)
	a := func(i string) labels.Labels { return labels.FromStrings("__name__", "a", "i", i) }

	require.NoError(t, ts.AdmitSeries(a("1")))
	require.NoError(t, ts.AdmitSeries(a("2")))
	err := ts.AdmitSeries(a("3"))
	require.ErrorIs(t, err, model.ErrSeriesLimit)
	require.EqualError(t, err, `per-metric series limit of 2 exceeded for metric "a"`)

	require.NoError(t, ts.AdmitSeries(labels.FromStrings("__name__", "b")))
	err = ts.AdmitSeries(labels.FromStrings("__name__", "c"))
	require.ErrorIs(t, err, model.ErrSeriesLimit)
	require.EqualError(t, err, "per-tenant series limit of 3 exceeded")
	var le *Error
	require.True(t, errors.As(err, &le))
	require.Equal(t, ReasonSeriesLimit, le.Reason)
	require.Equal(t, 3, tr.Series(Anonymous))

	ts.RemoveSeries(a("1"))
	require.NoError(t, ts.AdmitSeries(a("3")), "a removed series frees its place")
	require.Equal(t, 0, tr.Series("other"))
	require.NoError(t, tr.Admit("other", a("1")), "tenants are counted apart")
}

func TestSeriesTrackerAddCountsWithoutAsking(t *testing.T) {
	tr := NewSeriesTracker(overrides(t, Limits{MaxSeries: 1}), nil)
	tr.Add(Anonymous, labels.FromStrings("__name__", "a"))
	tr.Add(Anonymous, labels.FromStrings("__name__", "b"))
	require.Equal(t, 2, tr.Series(Anonymous))
	require.ErrorIs(t, tr.Admit(Anonymous, labels.FromStrings("__name__", "c")), model.ErrSeriesLimit)
}

func TestSeriesTrackerMemoryGuardFirst(t *testing.T) {
	heap := uint64(10)
	g := NewMemoryGuard(100, MemoryGuardOptions{ReadHeap: func() uint64 { return heap }, Refresh: 1})
	tr := NewSeriesTracker(overrides(t, Defaults()), g)
	require.NoError(t, tr.Admit(Anonymous, labels.FromStrings("__name__", "a")))
	heap = 100
	err := tr.Admit(Anonymous, labels.FromStrings("__name__", "b"))
	require.ErrorIs(t, err, model.ErrMemoryLimit)
	require.Equal(t, 1, tr.Series(Anonymous), "a refused series is not counted")
}
