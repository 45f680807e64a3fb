package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestCompactionClosedBefore(t *testing.T) {
	now := time.UnixMilli(10 * time.Hour.Milliseconds())
	got := compactionClosedBefore(now, time.Hour, time.Minute, 30*time.Second)
	require.Equal(t, now.Add(-time.Hour-90*time.Second).UnixMilli(), got)
	// Out-of-order samples off (a negative window) waits for nothing more.
	require.Equal(t, now.Add(-time.Minute).UnixMilli(), compactionClosedBefore(now, -1, time.Minute, 0))
}

// TestCompactionLoopMergesOwnedWindows: the loop's first pass merges the
// replica blocks of an old window it owns into a block without the node
// label (a later pass deletes the replicas), and leaves a window it does
// not own.
func TestCompactionLoopMergesOwnedWindows(t *testing.T) {
	ctx := context.Background()
	bkt, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	store, err := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer store.Close()
	win := 2 * time.Hour.Milliseconds()
	scratch := t.TempDir()
	for _, start := range []int64{0, win} {
		for _, node := range []string{"a", "b"} {
			c := chunkenc.NewXORChunk()
			app, err := c.Appender()
			require.NoError(t, err)
			require.NoError(t, app.Append(start+1, 1))
			series := []model.ChunkSeries{{Labels: labels.FromStrings("__name__", "up"), Chunks: []model.Chunk{{MinT: start + 1, MaxT: start + 1, Data: c.Bytes()}}}}
			m, err := block.Write(ctx, scratch, start, start+win, series, block.WriteOptions{Labels: map[string]string{block.NodeLabel: node}})
			require.NoError(t, err)
			require.NoError(t, block.Upload(ctx, bkt, filepath.Join(scratch, m.ULID.String())))
		}
	}
	srv := &server{s: settings{OutOfOrderWindow: time.Hour, MaintenanceInterval: time.Minute, BlockShipInterval: 30 * time.Second},
		log: slog.New(slog.DiscardHandler)}
	reg := prometheus.NewRegistry()
	loop := srv.compactionLoop(func(_ string, start int64) bool { return start == 0 })
	require.Equal(t, "replica compaction", loop.what)

	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- loop.run(lctx, &blocks{bucket: bkt, store: store, env: stackEnv{dir: t.TempDir(), reg: reg}})
	}()
	// The loop's first pass runs at once; wait for its merged block.
	for {
		if mergedBlocks(t, reg) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)
	require.NoError(t, store.Sync(ctx))
	replicas := map[int64]int{}
	merged := map[int64]int{}
	for _, m := range store.AllMetas() {
		if m.IsReplica() {
			replicas[m.MinTime]++
		} else {
			merged[m.MinTime]++
		}
	}
	require.Equal(t, map[int64]int{0: 2, win: 2}, replicas)
	require.Equal(t, map[int64]int{0: 1}, merged)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Empty(t, mfs, "the loop's metrics are unregistered when it ends")
}

// mergedBlocks reads gorilla_compaction_blocks_merged_total of reg, 0 before the
// compactor registered it.
func mergedBlocks(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "gorilla_compaction_blocks_merged_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
