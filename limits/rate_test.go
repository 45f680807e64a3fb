package limits

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func overrides(t *testing.T, l Limits) *Overrides {
	t.Helper()
	ov, err := NewOverrides(l, "")
	require.NoError(t, err)
	return ov
}

func TestRateLimiterTokenBucket(t *testing.T) {
	clk := newFakeClock()
	r := NewRateLimiter(overrides(t, Limits{IngestionRate: 100, IngestionBurst: 200}), clk.now)

	_, err := r.Allow(Anonymous, 150)
	require.NoError(t, err)
	wait, err := r.Allow(Anonymous, 100) // 50 left
	require.ErrorIs(t, err, ErrRateLimited)
	var le *Error
	require.True(t, errors.As(err, &le))
	require.Equal(t, ReasonRateLimited, le.Reason)
	require.Equal(t, 500*time.Millisecond, wait, "50 missing tokens at 100/s")

	clk.add(wait)
	_, err = r.Allow(Anonymous, 100)
	require.NoError(t, err, "refilled after the announced wait")

	_, err = r.Allow("other", 200)
	require.NoError(t, err, "each tenant has its own bucket")
}

func TestRateLimiterLargeRequestPassesOnFullBucket(t *testing.T) {
	clk := newFakeClock()
	r := NewRateLimiter(overrides(t, Limits{IngestionRate: 100, IngestionBurst: 100}), clk.now)
	_, err := r.Allow(Anonymous, 300)
	require.NoError(t, err, "a request above the burst passes on a full bucket")
	wait, err := r.Allow(Anonymous, 1)
	require.ErrorIs(t, err, ErrRateLimited, "its debt is repaid first")
	require.Equal(t, 2010*time.Millisecond, wait)
}

func TestRateLimiterUnlimited(t *testing.T) {
	r := NewRateLimiter(overrides(t, Defaults()), nil)
	for range 10 {
		_, err := r.Allow(Anonymous, 1<<30)
		require.NoError(t, err)
	}
}
