package block_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
)

// TestShipperTakesWindowsFromHead: an embedder that sets the windows on the
// head only gets them sealed by the head's windows: [0, 30m) is sealed once
// the newest sample is 10m past its end, not by a default of the
// shipper's own.
func TestShipperTakesWindowsFromHead(t *testing.T) {
	dir := t.TempDir()
	h, err := head.Open(head.Options{
		Dir: dir, MaintenanceInterval: -1, Shipping: true,
		BlockDuration: 30 * time.Minute, OutOfOrderWindow: 10 * time.Minute,
	})
	require.NoError(t, err)
	defer h.Close()
	bkt, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	sh, err := block.NewShipper(block.ShipperOptions{Source: h, Bucket: bkt, Dir: filepath.Join(dir, "blocks")})
	require.NoError(t, err)
	defer sh.Close()
	ctx := context.Background()
	lset := labels.FromStrings("__name__", "up")
	for ts := time.Duration(0); ts <= 40*time.Minute; ts += time.Minute {
		require.NoError(t, h.Append(lset, ts.Milliseconds(), 1))
	}
	require.NoError(t, sh.Once(ctx))
	require.Equal(t, (30 * time.Minute).Milliseconds(), h.SealedBefore(), "sealed when the head's window closed")

	store, err := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: filepath.Join(dir, "cache")})
	require.NoError(t, err)
	defer store.Close()
	require.NoError(t, store.Sync(ctx))
	metas := store.AllMetas()
	require.Len(t, metas, 1)
	require.Equal(t, int64(0), metas[0].MinTime)
	require.Equal(t, (30 * time.Minute).Milliseconds(), metas[0].MaxTime)
}
