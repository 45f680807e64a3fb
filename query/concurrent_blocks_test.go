package query

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
)

// gatedBucket counts the block index downloads in flight. The first ones
// wait until want of them are in flight at once (or until the guard
// expires, which the test reports as missing overlap); later ones pass.
type gatedBucket struct {
	objstore.Bucket
	want int

	mu       sync.Mutex
	inflight int
	peak     int
	gets     int
	opened   chan struct{} // closed once want are in flight, or at the guard
	once     sync.Once
}

func (g *gatedBucket) open() { g.once.Do(func() { close(g.opened) }) }

func (g *gatedBucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if !strings.HasSuffix(name, "/"+block.IndexFilename) {
		return g.Bucket.Get(ctx, name)
	}
	g.mu.Lock()
	g.inflight++
	g.gets++
	g.peak = max(g.peak, g.inflight)
	if g.inflight == g.want {
		g.open()
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inflight--
		g.mu.Unlock()
	}()
	// A guard against a download loop that never overlaps, which would
	// wait here forever: the peak then tells.
	select {
	case <-g.opened:
	case <-time.After(5 * time.Second):
		g.open()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Bucket.Get(ctx, name)
}

// tenWindows uploads ten one-window blocks of one series to a filesystem
// bucket and returns the bucket.
func tenWindows(t *testing.T, n int) objstore.Bucket {
	t.Helper()
	bkt, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16, Retention: 1000 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	for w := range int64(n) {
		for ts := w * window; ts < (w+1)*window; ts += 10 * 60_000 {
			_, err := app.Append(0, labels.FromStrings("__name__", "up"), ts, float64(ts/1000))
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	dir := t.TempDir()
	for w := range int64(n) {
		series, err := h.WindowSeries(context.Background(), w*window, (w+1)*window-1)
		require.NoError(t, err)
		meta, err := block.Write(context.Background(), dir, w*window, (w+1)*window, series, block.WriteOptions{})
		require.NoError(t, err)
		require.NoError(t, block.Upload(context.Background(), bkt, filepath.Join(dir, meta.ULID.String())))
	}
	return bkt
}

// TestBlocksDownloadConcurrentlyWithinLimit reads a range over ten blocks
// that are not yet in the cache: their downloads overlap, never more than
// the limit at once.
func TestBlocksDownloadConcurrentlyWithinLimit(t *testing.T) {
	const blocks, limit = 10, 3
	gated := &gatedBucket{Bucket: tenWindows(t, blocks), want: limit, opened: make(chan struct{})}
	store, err := block.NewStore(block.StoreOptions{Bucket: gated, CacheDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	require.NoError(t, store.Sync(context.Background()))

	q := NewWithBlocks(emptyHead(t), store, WithBlockConcurrency(limit))
	got := collect(t, q, 0, blocks*window)

	require.Equal(t, blocks*int(window/(10*60_000)), got, "samples read")
	gated.mu.Lock()
	defer gated.mu.Unlock()
	require.Equal(t, blocks, gated.gets, "index downloads")
	require.Equal(t, limit, gated.peak, fmt.Sprintf("most downloads in flight at once (limit %d)", limit))
}
