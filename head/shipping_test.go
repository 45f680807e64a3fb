package head

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

const testWindow = int64(2 * time.Hour / time.Millisecond)

// chunkSamples returns the samples of chunks, in order.
func chunkSamples(t *testing.T, cs []model.Chunk) []model.Sample {
	t.Helper()
	var out []model.Sample
	for _, c := range cs {
		ch, err := chunkenc.FromBytes(c.Data)
		require.NoError(t, err)
		it := ch.Iterator(nil)
		for it.Next() {
			ts, v := it.At()
			require.GreaterOrEqual(t, ts, c.MinT)
			require.LessOrEqual(t, ts, c.MaxT)
			out = append(out, model.Sample{T: ts, V: v})
		}
		require.NoError(t, it.Err())
	}
	return out
}

func TestWindowSeries(t *testing.T) {
	h := openTest(t, nil)
	a := labels.FromStrings("__name__", "a")
	b := labels.FromStrings("__name__", "b")
	c := labels.FromStrings("__name__", "c")
	var wantA []model.Sample
	// a spans two windows; b only the second; c only the first.
	for ts := testWindow - 60_000; ts < testWindow+60_000; ts += 15_000 {
		require.NoError(t, h.Append(a, ts, float64(ts)))
		if ts < testWindow {
			wantA = append(wantA, model.Sample{T: ts, V: float64(ts)})
			require.NoError(t, h.Append(c, ts, 1))
		} else {
			require.NoError(t, h.Append(b, ts, 2))
		}
	}
	// An out-of-order sample of the first window is merged in.
	require.NoError(t, h.Append(a, testWindow-50_000, 7))
	wantA = append(wantA, model.Sample{})
	copy(wantA[2:], wantA[1:])
	wantA[1] = model.Sample{T: testWindow - 50_000, V: 7}

	got, err := h.WindowSeries(context.Background(), 0, testWindow-1)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, labels.Equal(a, got[0].Labels), "sorted by labels: %s", got[0].Labels)
	require.True(t, labels.Equal(c, got[1].Labels))
	requireSamples(t, wantA, chunkSamples(t, got[0].Chunks))
	require.Len(t, chunkSamples(t, got[1].Chunks), 4)

	got, err = h.WindowSeries(context.Background(), testWindow, 2*testWindow-1)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, labels.Equal(a, got[0].Labels))
	require.True(t, labels.Equal(b, got[1].Labels))
	require.Len(t, chunkSamples(t, got[0].Chunks), 4)
}

func TestSealBeforeRefusesOlderSamples(t *testing.T) {
	h := openTest(t, nil)
	lagging := labels.FromStrings("__name__", "lagging")
	fresh := labels.FromStrings("__name__", "fresh")
	require.NoError(t, h.Append(lagging, 1000, 1))
	require.NoError(t, h.Append(fresh, 3*testWindow, 1))

	// Checked before the seal, committed after it: refused at commit, the
	// rest of the commit is stored.
	app := h.Appender()
	_, err := app.Append(0, lagging, testWindow-1000, 2)
	require.NoError(t, err)
	_, err = app.Append(0, fresh, 3*testWindow+1000, 2)
	require.NoError(t, err)
	h.SealBefore(testWindow)
	require.Equal(t, testWindow, h.SealedBefore())
	err = app.Commit()
	require.ErrorIs(t, err, model.ErrOutOfWindow)
	require.Len(t, mustRange(t, h, lagging), 1)
	require.Len(t, mustRange(t, h, fresh), 2)

	// In order for its series, but in a sealed window.
	require.ErrorIs(t, h.Append(lagging, testWindow-500, 3), model.ErrOutOfWindow)
	require.NoError(t, h.Append(lagging, testWindow, 3))

	// Lowering the bound does nothing.
	h.SealBefore(0)
	require.Equal(t, testWindow, h.SealedBefore())
}

func TestShippingKeepsUnshippedData(t *testing.T) {
	h := openTest(t, func(o *Options) { o.Shipping = true; o.Retention = time.Hour })
	lset := labels.FromStrings("__name__", "x")
	for ts := int64(0); ts <= 3*testWindow; ts += 60_000 {
		require.NoError(t, h.Append(lset, ts, 1))
	}
	require.Equal(t, int64(0), h.MinTime())
	require.Equal(t, 3*testWindow, h.MaxTime())

	// Nothing is shipped: retention releases nothing.
	require.NoError(t, h.maintainOnce())
	require.Equal(t, int64(0), mustRange(t, h, lset)[0].T)
	require.Equal(t, int64(0), h.MinTime())

	// The first window is shipped: only it may go.
	h.SetShipped(testWindow)
	require.NoError(t, h.maintainOnce())
	require.Equal(t, testWindow, mustRange(t, h, lset)[0].T)
	require.Equal(t, testWindow, h.MinTime())

	// Everything shipped: retention (1h) decides.
	h.SetShipped(math.MaxInt64)
	require.NoError(t, h.maintainOnce())
	first := mustRange(t, h, lset)[0].T
	require.GreaterOrEqual(t, first, 2*testWindow)
	require.Equal(t, 3*testWindow-time.Hour.Milliseconds(), h.MinTime())

	// After a restart the head holds at least what it held before, and
	// releases it again once told what is shipped.
	h2 := reopen(t, h)
	require.LessOrEqual(t, h2.MinTime(), first)
	h2.SetShipped(math.MaxInt64)
	require.NoError(t, h2.maintainOnce())
	require.Equal(t, first, mustRange(t, h2, lset)[0].T)
	require.Equal(t, 3*testWindow-time.Hour.Milliseconds(), h2.MinTime())
}

func TestMinTimeOfEmptyHead(t *testing.T) {
	h := openTest(t, nil)
	require.Equal(t, int64(math.MaxInt64), h.MinTime())
	require.Equal(t, int64(math.MinInt64), h.MaxTime())
	h.Truncate(1000)
	require.Equal(t, int64(math.MaxInt64), h.MinTime(), "an empty head stays empty")
}
