package block_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// The long-run benchmarks hold 100k series over 13 closed, uploaded
// windows and half of an open one: a head near the end of its 26h
// retention. A sample every 2 minutes keeps the set-up under a minute.
const (
	longSeries    = 100_000
	longWindows   = 13
	longStep      = 120_000
	longRetention = 30 * time.Hour // keeps all 13 windows in memory
)

// longRun is a head that has shipped longWindows windows to a filesystem
// bucket.
type longRun struct {
	headDir, shipDir, bucketDir, cacheDir string
	h                                     *head.Head
}

// longLabels returns one of the benchmark's series.
func longLabels(i int) labels.Labels {
	return labels.FromStrings("__name__", fmt.Sprintf("node_metric_%d_total", i%50),
		"instance", fmt.Sprintf("10.0.%d.%d:9100", i/250%250, i%250), "job", "node",
		"mode", []string{"idle", "user", "system", "iowait"}[i%4], "pod", fmt.Sprintf("node-exporter-%05d", i/200))
}

// openLongHead opens the benchmark's head in dir.
func openLongHead(tb testing.TB, dir string) *head.Head {
	tb.Helper()
	h, err := head.Open(head.Options{Dir: dir, MaintenanceInterval: -1, Shipping: true, Retention: longRetention})
	require.NoError(tb, err)
	return h
}

// newLongShipper readies a shipper over h and the run's bucket.
func (r *longRun) newShipper(tb testing.TB, h *head.Head) (*block.Shipper, *block.Store) {
	tb.Helper()
	bkt, err := filesystem.NewBucket(r.bucketDir)
	require.NoError(tb, err)
	store, err := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: r.cacheDir})
	require.NoError(tb, err)
	sh, err := block.NewShipper(block.ShipperOptions{
		Source: h, Bucket: bkt, Dir: r.shipDir, Store: store,
	})
	require.NoError(tb, err)
	return sh, store
}

// setUpLongRun appends the samples, then seals and uploads the closed
// windows.
func setUpLongRun(tb testing.TB) *longRun {
	tb.Helper()
	base := tb.TempDir()
	r := &longRun{
		headDir: filepath.Join(base, "head"), shipDir: filepath.Join(base, "blocks"),
		bucketDir: filepath.Join(base, "bucket"), cacheDir: filepath.Join(base, "cache"),
	}
	r.h = openLongHead(tb, r.headDir)
	refs := make([]model.SeriesRef, longSeries)
	vals := make([]float64, longSeries)
	app := r.h.Appender()
	// The newest sample is the out-of-order window (1h) past the end of
	// the last closed window, so exactly longWindows windows are closed.
	end := int64(longWindows)*2*3600_000 + 3600_000
	for ts := int64(0); ts <= end; ts += longStep {
		for i := range refs {
			vals[i] += float64((i*7+int(ts/longStep)*13)%10) + 0.5
			ref, err := app.Append(refs[i], longLabels(i), ts, vals[i])
			require.NoError(tb, err)
			refs[i] = ref
			if i%5000 == 4999 {
				require.NoError(tb, app.Commit())
			}
		}
		require.NoError(tb, app.Commit())
	}
	sh, store := r.newShipper(tb, r.h)
	require.NoError(tb, sh.Once(context.Background()))
	require.Equal(tb, int64(longWindows)*2*3600_000, r.h.SealedBefore())
	sh.Close()
	require.NoError(tb, store.Close())
	return r
}

// checkpointBytes returns the size of the newest WAL checkpoint in dir.
func checkpointBytes(tb testing.TB, headDir string) int64 {
	tb.Helper()
	cps, err := filepath.Glob(filepath.Join(headDir, "wal", "checkpoint.*"))
	require.NoError(tb, err)
	require.NotEmpty(tb, cps)
	return dirBytes(tb, cps[len(cps)-1])
}

// BenchmarkLongRunCheckpoint measures one WAL checkpoint of a head holding
// 100k series and 13 closed windows already uploaded: its bytes, its
// seconds, and its size as a fraction of the chunk bytes in memory.
//
//	go test -run='^$' -bench=LongRunCheckpoint -benchtime=3x -timeout=30m ./block/
func BenchmarkLongRunCheckpoint(b *testing.B) {
	r := setUpLongRun(b)
	defer r.h.Close()
	for b.Loop() {
		require.NoError(b, r.h.Checkpoint(context.Background()))
	}
	size := checkpointBytes(b, r.headDir)
	chunkBytes := r.h.Stats().ChunkBytes
	b.ReportMetric(float64(size), "checkpoint-bytes")
	b.ReportMetric(float64(chunkBytes), "chunk-bytes")
	b.ReportMetric(float64(size)/float64(chunkBytes), "ratio")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "seconds")
}

// BenchmarkLongRunRestart measures a restart of the same head until it
// holds its whole retention in memory again: opening the head (checkpoint
// and WAL replay), readying the shipper, listing the bucket and loading the
// sealed windows from their blocks (from the filesystem bucket the first
// time, from the local block cache after). ready-seconds is the part up to
// the listing, when the server reports ready; the load runs after that.
//
//	go test -run='^$' -bench=LongRunRestart -benchtime=3x -timeout=30m ./block/
func BenchmarkLongRunRestart(b *testing.B) {
	r := setUpLongRun(b)
	require.NoError(b, r.h.Checkpoint(context.Background()))
	want := r.h.Stats()
	require.NoError(b, r.h.Close())
	var got head.Stats
	var ready time.Duration
	for b.Loop() {
		start := time.Now()
		h := openLongHead(b, r.headDir)
		sh, store := r.newShipper(b, h)
		require.NoError(b, store.Sync(context.Background()))
		ready += time.Since(start)
		_, err := block.LoadSealed(context.Background(), store, h, nil)
		require.NoError(b, err)
		b.StopTimer()
		got = h.Stats()
		sh.Close()
		require.NoError(b, store.Close())
		require.NoError(b, h.Close())
		b.StartTimer()
	}
	require.Equal(b, want.Samples, got.Samples, "samples in memory after the restart")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "seconds")
	b.ReportMetric(ready.Seconds()/float64(b.N), "ready-seconds")
	_ = os.RemoveAll(r.cacheDir)
}
