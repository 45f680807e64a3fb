package head

import (
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// countingLimiter admits up to max series and counts what it is told.
type countingLimiter struct {
	mu      sync.Mutex
	max     int
	active  int
	admits  int
	refused int
}

func (l *countingLimiter) AdmitSeries(labels.Labels) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.admits++
	if l.active >= l.max {
		l.refused++
		return model.ErrSeriesLimit
	}
	l.active++
	return nil
}

func (l *countingLimiter) AddSeries(labels.Labels) { l.mu.Lock(); l.active++; l.mu.Unlock() }
func (l *countingLimiter) RemoveSeries(labels.Labels) {
	l.mu.Lock()
	l.active--
	l.mu.Unlock()
}

func (l *countingLimiter) count() int { l.mu.Lock(); defer l.mu.Unlock(); return l.active }

func TestLimiterRefusesNewSeriesOnly(t *testing.T) {
	lim := &countingLimiter{max: 2}
	h := openTest(t, func(o *Options) { o.Limiter = lim })
	app := h.Appender()
	for _, n := range []string{"a", "b"} {
		_, err := app.Append(0, series(n), 1000, 1)
		require.NoError(t, err)
	}
	_, err := app.Append(0, series("c"), 1000, 1)
	require.ErrorIs(t, err, model.ErrSeriesLimit)
	_, err = app.Append(0, series("a"), 2000, 2)
	require.NoError(t, err, "an existing series still takes samples")
	require.NoError(t, app.Commit())

	require.Equal(t, 2, h.Stats().Series, "the refused series was not created")
	requireSamples(t, []model.Sample{{T: 1000, V: 1}, {T: 2000, V: 2}}, mustRange(t, h, series("a")))
	require.Equal(t, 1, lim.refused)

	// A restart counts the replayed series without asking.
	lim2 := &countingLimiter{max: 0}
	h.opts.Limiter = lim2
	h2 := reopen(t, h)
	require.Equal(t, 2, lim2.count())
	require.Zero(t, lim2.admits)
	_ = h2
}

func TestLimiterToldOfRetention(t *testing.T) {
	lim := &countingLimiter{max: 1 << 30}
	h := openTest(t, func(o *Options) { o.Limiter = lim })
	churnRound(t, h, 0, 100)
	require.Equal(t, 100, lim.count())
	churnRound(t, h, 1, 50)
	require.Equal(t, 50, lim.count(), "the series retention dropped are given back")
	require.Equal(t, h.Stats().Series, lim.count())
}

func TestLimiterCountsOnceUnderConcurrentCreation(t *testing.T) {
	lim := &countingLimiter{max: 1 << 30}
	h := openTest(t, func(o *Options) { o.Limiter = lim })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app := h.Appender()
			for i := range 200 {
				_, err := app.Append(0, series("m", "i", string(rune('a'+i%26)), "j", string(rune('a'+i/26))), int64(1000+g), 1)
				if err != nil {
					t.Error(err)
				}
			}
			if err := app.Commit(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, h.Stats().Series, lim.count())
}
