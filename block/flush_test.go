package block_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestShipperFlushSealsOpenWindows checks that Flush puts every sample of
// the head in the bucket, the open windows included, even while a failed
// upload backs off, and that the flushed windows then refuse samples.
func TestShipperFlushSealsOpenWindows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 3*time.Hour)
	f.bucket.down.Store(true)
	require.NoError(t, f.shipper.Once(ctx), "no window is closed yet")
	require.ErrorIs(t, f.shipper.Flush(ctx), errUnreachable)
	f.bucket.down.Store(false)

	// Within the backoff of that failure: Flush uploads anyway.
	require.NoError(t, f.shipper.Flush(ctx))
	require.Equal(t, map[int64]int{0: 2 * 120, win.Milliseconds(): 2 * 60}, f.bucketSamples(t))
	require.Zero(t, localBlocks(t, f.dir))
	require.Equal(t, 2*win.Milliseconds(), f.head.ShippedBefore())
	require.ErrorIs(t, f.head.Append(labels.FromStrings("__name__", "late"), 3*time.Hour.Milliseconds(), 1), model.ErrOutOfWindow)

	// Nothing new: a second flush does nothing.
	require.NoError(t, f.shipper.Flush(ctx))
	require.Equal(t, map[int64]int{0: 2 * 120, win.Milliseconds(): 2 * 60}, f.bucketSamples(t))
}
