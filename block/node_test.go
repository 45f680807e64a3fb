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
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// newNodeFixture is newFixture for cluster node name: its shipper names
// the node in every block.
func newNodeFixture(t *testing.T, name string) *fixture {
	t.Helper()
	fsb, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	f := &fixture{dir: t.TempDir(), bucket: &flakyBucket{Bucket: fsb}, clock: &clock{},
		labels: map[string]string{block.NodeLabel: name}}
	f.open(t)
	return f
}

// TestShipperExternalLabels: every block the shipper seals carries its
// external labels; without them, none.
func TestShipperExternalLabels(t *testing.T) {
	ctx := context.Background()
	for _, ls := range []map[string]string{nil, {block.NodeLabel: "node-1"}} {
		f := newFixture(t)
		if ls != nil {
			f = newNodeFixture(t, ls[block.NodeLabel])
		}
		f.write(t, 0, 5*time.Hour)
		require.NoError(t, f.shipper.Once(ctx))
		require.NoError(t, f.store.Sync(ctx))
		metas := f.store.AllMetas()
		require.NotEmpty(t, metas)
		for _, m := range metas {
			require.Equal(t, len(ls), len(m.Thanos.Labels), "labels of %s: %v", m.ULID, m.Thanos.Labels)
			for k, v := range ls {
				require.Equal(t, v, m.Thanos.Labels[k])
			}
			require.Equal(t, ls != nil, m.IsReplica())
		}
	}
}

// uploadBlock writes series as a block of [mint, mint+win) with external
// labels ls into f's bucket.
func (f *fixture) uploadBlock(t *testing.T, mint int64, series []model.ChunkSeries, ls map[string]string) block.Meta {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := block.Write(ctx, dir, mint, mint+win.Milliseconds(), series, block.WriteOptions{Labels: ls})
	require.NoError(t, err)
	require.NoError(t, block.Upload(ctx, f.bucket, filepath.Join(dir, m.ULID.String())))
	return m
}

// oneSample is a series with one sample at t.
func oneSample(t *testing.T, lset labels.Labels, ts int64) model.ChunkSeries {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	require.NoError(t, err)
	require.NoError(t, app.Append(ts, 1))
	return model.ChunkSeries{Labels: lset, Chunks: []model.Chunk{{MinT: ts, MaxT: ts, Data: c.Bytes()}}}
}

// TestLoadSealedOwnReplicaOnly: a node reloads only its own replica
// blocks, never another node's nor a merged block, and stops at the newest
// window it has no block of, so that the head never holds a window with a
// gap behind its min time.
func TestLoadSealedOwnReplicaOnly(t *testing.T) {
	ctx := context.Background()
	f := newNodeFixture(t, "a")
	f.write(t, 0, 9*time.Hour) // windows 0, 2h and 4h are sealed
	require.NoError(t, f.shipper.Once(ctx))
	require.NoError(t, f.head.Checkpoint(ctx))
	bd := win.Milliseconds()
	other := labels.FromStrings("__name__", "other")
	// Node b's replica of window 2h, with a series a does not own.
	f.uploadBlock(t, bd, []model.ChunkSeries{oneSample(t, other, bd+1)}, map[string]string{block.NodeLabel: "b"})
	// Window 0 was compacted: a's replica is gone, a merged block holds it.
	require.NoError(t, f.store.Sync(ctx))
	for _, m := range f.store.Metas(0, bd-1) {
		require.NoError(t, block.Delete(ctx, f.bucket, m.ULID))
	}
	f.uploadBlock(t, 0, []model.ChunkSeries{oneSample(t, other, 1)}, map[string]string{})
	f.close()
	f.open(t)
	require.NoError(t, f.store.Sync(ctx))

	st, err := block.LoadSealedWith(ctx, f.store, f.head, block.LoadOptions{Node: "a"})
	require.NoError(t, err)
	require.Equal(t, 2, st.Blocks, "a's blocks of windows 4h and 2h")
	up := labels.FromStrings("__name__", "up", "instance", "a")
	got, err := f.head.Range(up, bd, 3*bd-1)
	require.NoError(t, err)
	require.Len(t, got, 240, "windows 2h and 4h are in memory again")
	got, err = f.head.Range(up, 0, bd-1)
	require.NoError(t, err)
	require.Empty(t, got, "the merged window stays in the bucket")
	got, err = f.head.Range(other, 0, 3*bd)
	require.NoError(t, err)
	require.Empty(t, got, "another node's series are not loaded")
	require.Equal(t, bd, f.head.MinTime(), "the head holds from window 2h on")
}
