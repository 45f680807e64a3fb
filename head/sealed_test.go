package head

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestLoadSealed: sealed windows a series lacks are added in time order;
// windows it holds, windows not sealed and chunks released by retention are
// skipped; a series found only in the blocks is created and takes samples
// after its loaded ones.
func TestLoadSealed(t *testing.T) {
	src := openTest(t, nil)
	x, y := series("x"), series("y")
	for ts := int64(0); ts < 3*testWindow; ts += 60_000 {
		require.NoError(t, src.Append(x, ts, float64(ts)))
		if ts < testWindow {
			require.NoError(t, src.Append(y, ts, 1))
		}
	}
	blocks, err := src.WindowSeries(context.Background(), 0, 3*testWindow-1)
	require.NoError(t, err)

	h := openTest(t, nil)
	// x holds window 1 already, with other values: it stays as it is.
	require.NoError(t, h.Append(x, testWindow, -1))
	n, err := h.LoadSealed(context.Background(), blocks)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is sealed: nothing loads")

	h.SealBefore(2 * testWindow)
	n, err = h.LoadSealed(context.Background(), blocks)
	require.NoError(t, err)
	require.Equal(t, 2, n, "window 0 of x and of y")
	got := mustRange(t, h, x)
	require.Len(t, got, int(testWindow/60_000)+1)
	require.Equal(t, int64(0), got[0].T)
	require.Equal(t, model.Sample{T: testWindow, V: -1}, got[len(got)-1], "the window held stays")
	require.Equal(t, int64(0), h.MinTime())

	n, err = h.LoadSealed(context.Background(), blocks)
	require.NoError(t, err)
	require.Zero(t, n, "loading again adds nothing")

	// y exists only through the load; its newest loaded sample bounds it.
	require.Len(t, mustRange(t, h, y), int(testWindow/60_000))
	require.ErrorIs(t, h.Append(y, testWindow-60_000, 2), model.ErrOutOfWindow)
	require.NoError(t, h.Append(y, 2*testWindow, 2))
	require.Len(t, mustRange(t, h, y), int(testWindow/60_000)+1)
}

func TestSealedRange(t *testing.T) {
	h := openTest(t, func(o *Options) { o.Retention = 3 * DefaultBlockDuration })
	mint, maxt := h.SealedRange()
	require.GreaterOrEqual(t, mint, maxt, "empty head")
	require.NoError(t, h.Append(series("x"), 10*testWindow+5, 1))
	h.SealBefore(9 * testWindow)
	mint, maxt = h.SealedRange()
	require.Equal(t, 7*testWindow, mint, "the window holding newest - retention")
	require.Equal(t, 9*testWindow, maxt)
}
