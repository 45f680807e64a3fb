package head

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/wal"
)

// checkpointContents are the records of a head's newest checkpoint.
type checkpointContents struct {
	series []seriesRecord
	chunks []chunkRecord
}

func readLastCheckpoint(t *testing.T, h *Head) checkpointContents {
	t.Helper()
	path, _, err := wal.LastCheckpoint(h.wal.Dir())
	require.NoError(t, err)
	require.NotEmpty(t, path, "no checkpoint")
	r, err := wal.NewCheckpointReader(path, h.wal.Codecs()...)
	require.NoError(t, err)
	defer r.Close()
	var out checkpointContents
	var b labels.ScratchBuilder
	for r.Next() {
		rec := r.Record()
		switch recordType(rec) {
		case recSeries:
			out.series, err = decodeSeries(rec, out.series, &b)
		case recChunks:
			out.chunks, err = decodeChunkRecord(rec, out.chunks)
		}
		require.NoError(t, err)
	}
	require.NoError(t, r.Err())
	return out
}

// TestCheckpointLeavesOutUploadedWindows: once windows are reported
// uploaded, a checkpoint holds every series but only the chunks of windows
// that are not.
func TestCheckpointLeavesOutUploadedWindows(t *testing.T) {
	h := openTest(t, func(o *Options) { o.Shipping = true })
	old := series("old")   // only in the uploaded windows
	live := series("live") // in all four windows
	for ts := int64(0); ts < 4*testWindow; ts += 60_000 {
		if ts < 2*testWindow {
			require.NoError(t, h.Append(old, ts, 1))
		}
		require.NoError(t, h.Append(live, ts, float64(ts)))
	}
	h.SealBefore(3 * testWindow)
	h.SetShipped(2 * testWindow)
	require.NoError(t, h.Checkpoint(context.Background()))

	got := readLastCheckpoint(t, h)
	require.Len(t, got.series, 2, "every series keeps its record")
	for _, c := range got.chunks {
		if c.MaxT < 2*testWindow {
			t.Fatalf("checkpoint holds a chunk [%d, %d] of an uploaded window", c.MinT, c.MaxT)
		}
	}
	// Window 2 is sealed but not uploaded, window 3 open: both stay.
	require.Len(t, got.chunks, 2)

	// Everything not uploaded survives a restart.
	h2 := reopen(t, h)
	samples := mustRange(t, h2, live)
	require.Len(t, samples, int(2*testWindow/60_000))
	require.Equal(t, 2*testWindow, samples[0].T)
}

// TestCheckpointPolicyUnderShipping: under Shipping the head checkpoints
// when more windows are reported uploaded, not when a window merely closes.
func TestCheckpointPolicyUnderShipping(t *testing.T) {
	h := openTest(t, func(o *Options) { o.Shipping = true; o.Retention = 100 * time.Hour })
	lset := series("x")
	require.NoError(t, h.Append(lset, 0, 1))
	lastUpTo := func() int {
		_, upTo, err := wal.LastCheckpoint(h.wal.Dir())
		require.NoError(t, err)
		return upTo
	}
	require.NoError(t, h.Checkpoint(context.Background()))
	before := lastUpTo()

	// A window closes: nothing is uploaded yet, so no checkpoint.
	require.NoError(t, h.Append(lset, 2*testWindow, 1))
	require.NoError(t, h.maintainOnce())
	require.Equal(t, before, lastUpTo(), "no checkpoint before an upload")

	// The shipper seals the window, then reports it uploaded: a
	// checkpoint follows.
	h.SealBefore(testWindow)
	require.NoError(t, h.maintainOnce())
	require.Equal(t, before, lastUpTo(), "no checkpoint for a seal alone")
	h.SetShipped(testWindow)
	require.NoError(t, h.maintainOnce())
	after := lastUpTo()
	require.Greater(t, after, before)

	// Nothing new uploaded: no further checkpoint.
	require.NoError(t, h.Append(lset, 2*testWindow+1000, 1))
	require.NoError(t, h.maintainOnce())
	require.Equal(t, after, lastUpTo())
}

// TestCheckpointStopsOnCancelledContext: a checkpoint whose context is
// cancelled fails with its error and leaves the last good checkpoint (here:
// none) and every sample in place for a restart.
func TestCheckpointStopsOnCancelledContext(t *testing.T) {
	dir := t.TempDir()
	h := openTest(t, func(o *Options) { o.Dir = dir })
	lset := labels.FromStrings("__name__", "c")
	// More than one batch of records, so the snapshot meets the context.
	for i := range 30_000 {
		l := labels.FromStrings("__name__", "c", "i", strconv.Itoa(i))
		require.NoError(t, h.Append(l, 1000, float64(i)))
	}
	require.NoError(t, h.Append(lset, 1000, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, h.Checkpoint(ctx), context.Canceled)
	_, _, err := wal.LastCheckpoint(filepath.Join(dir, "wal"))
	require.ErrorIs(t, err, wal.ErrNoCheckpoint, "a cancelled checkpoint is not kept")
	require.NoError(t, h.Close())

	h = openTest(t, func(o *Options) { o.Dir = dir })
	got, err := h.Range(lset, 0, 2000)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, 30_001, h.Stats().Series)
}
