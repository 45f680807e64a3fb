package block_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

const (
	win = 2 * time.Hour
	ooo = time.Hour
)

// flakyBucket is a real filesystem bucket whose uploads fail while down is
// set, as when the object store is unreachable.
type flakyBucket struct {
	objstore.Bucket
	down     atomic.Bool
	metaDown atomic.Bool // only meta.json uploads fail: a crash mid-upload
}

var errUnreachable = errors.New("bucket unreachable")

func (b *flakyBucket) Upload(ctx context.Context, name string, r io.Reader, opts ...objstore.ObjectUploadOption) error {
	if b.down.Load() || (b.metaDown.Load() && filepath.Base(name) == "meta.json") {
		return errUnreachable
	}
	return b.Bucket.Upload(ctx, name, r, opts...)
}

// clock is a settable clock for the shipper's backoff and retention.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.UnixMilli(c.now.Load()) }
func (c *clock) advance(d time.Duration) { c.now.Add(d.Milliseconds()) }

type fixture struct {
	dir     string // storage path
	head    *head.Head
	bucket  *flakyBucket
	store   *block.Store
	clock   *clock
	shipper *block.Shipper
	labels  map[string]string // the shipper's external labels
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fsb, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	f := &fixture{dir: t.TempDir(), bucket: &flakyBucket{Bucket: fsb}, clock: &clock{}}
	f.open(t)
	return f
}

// open opens the head and the shipper over the fixture's directories.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	h, err := head.Open(head.Options{Dir: f.dir, MaintenanceInterval: -1, Stripes: 16, Shipping: true})
	require.NoError(t, err)
	store, err := block.NewStore(block.StoreOptions{Bucket: f.bucket, CacheDir: filepath.Join(f.dir, "cache")})
	require.NoError(t, err)
	sh, err := block.NewShipper(block.ShipperOptions{
		Source: h, Bucket: f.bucket, Dir: filepath.Join(f.dir, "blocks"), Store: store,
		Interval: time.Second, Now: f.clock.Now, ExternalLabels: f.labels,
	})
	require.NoError(t, err)
	f.head, f.store, f.shipper = h, store, sh
	t.Cleanup(f.close)
}

func (f *fixture) close() {
	f.shipper.Close()
	_ = f.store.Close()
	_ = f.head.Close()
}

// write appends one sample a minute for two series over [from, to).
func (f *fixture) write(t *testing.T, from, to time.Duration) {
	t.Helper()
	app := f.head.Appender()
	for ts := from.Milliseconds(); ts < to.Milliseconds(); ts += 60_000 {
		for _, inst := range []string{"a", "b"} {
			_, err := app.Append(0, labels.FromStrings("__name__", "up", "instance", inst), ts, float64(ts))
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
}

// bucketSamples counts the samples of the complete blocks in the bucket per
// window start, checking each against the value written.
func (f *fixture) bucketSamples(t *testing.T) map[int64]int {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, f.store.Sync(ctx))
	out := map[int64]int{}
	for _, m := range f.store.AllMetas() {
		b, release, err := f.store.Open(ctx, m.ULID)
		require.NoError(t, err)
		series, err := b.Select(ctx, m.MinTime, m.MaxTime-1, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
		release()
		require.NoError(t, err)
		for _, s := range series {
			for _, c := range s.Chunks {
				out[m.MinTime] += countSamples(t, c, m.MinTime, m.MaxTime)
			}
		}
	}
	return out
}

func countSamples(t *testing.T, c model.Chunk, mint, maxt int64) int {
	t.Helper()
	it := chunkenc.NewIterator(c.Data)
	n := 0
	for it.Next() {
		ts, v := it.At()
		require.GreaterOrEqual(t, ts, mint)
		require.Less(t, ts, maxt)
		require.Equal(t, float64(ts), v)
		n++
	}
	require.NoError(t, it.Err())
	return n
}

func lastCheckpoint(t *testing.T, dir string) int {
	t.Helper()
	_, upTo, err := wal.LastCheckpoint(filepath.Join(dir, "wal"))
	if errors.Is(err, wal.ErrNoCheckpoint) {
		return -1
	}
	require.NoError(t, err)
	return upTo
}

func localBlocks(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blocks"))
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			n++
		}
	}
	return n
}

func TestShipperSealsClosedWindows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 3*time.Hour)
	// Window [0, 2h) is still open for out-of-order samples until 3h.
	require.NoError(t, f.shipper.Once(ctx))
	require.Empty(t, f.bucketSamples(t))

	f.write(t, 3*time.Hour, 5*time.Hour)
	require.NoError(t, f.shipper.Once(ctx))
	require.Equal(t, map[int64]int{0: 2 * 120}, f.bucketSamples(t))
	require.Equal(t, win.Milliseconds(), f.head.SealedBefore())
	require.Zero(t, localBlocks(t, f.dir), "uploaded blocks leave the local disk")
	require.Equal(t, win.Milliseconds(), f.head.ShippedBefore(), "the head is told the window is uploaded")

	// The sealed window refuses samples, even for a series that lags.
	require.ErrorIs(t, f.head.Append(labels.FromStrings("__name__", "late"), win.Milliseconds()-1, 1), model.ErrOutOfWindow)

	f.write(t, 5*time.Hour, 7*time.Hour)
	require.NoError(t, f.shipper.Once(ctx))
	// [4h, 6h) stays open until the head reaches 7h.
	require.Equal(t, map[int64]int{0: 240, win.Milliseconds(): 240}, f.bucketSamples(t))
}

func TestShipperKeepsEverythingWhileBucketIsDown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 5*time.Hour)
	before := lastCheckpoint(t, f.dir)

	f.bucket.down.Store(true)
	err := f.shipper.Once(ctx)
	require.ErrorIs(t, err, errUnreachable)
	require.Equal(t, 1, localBlocks(t, f.dir), "the sealed block waits on local disk")

	// Samples keep arriving; windows keep closing; nothing is uploaded,
	// the head is told nothing is shipped and memory keeps the data.
	f.write(t, 5*time.Hour, 9*time.Hour)
	f.clock.advance(time.Hour)
	require.Error(t, f.shipper.Once(ctx))
	require.Equal(t, 3, localBlocks(t, f.dir))
	require.Equal(t, int64(0), f.head.ShippedBefore(), "nothing shipped while uploads are pending")
	require.Equal(t, before, lastCheckpoint(t, f.dir), "the shipper does not checkpoint")
	f.head.Truncate(9 * time.Hour.Milliseconds()) // retention asks; unshipped data stays
	require.Equal(t, int64(0), f.head.MinTime())

	// The bucket returns: every window is uploaded and reported.
	f.bucket.down.Store(false)
	f.clock.advance(time.Hour)
	require.NoError(t, f.shipper.Once(ctx))
	got := f.bucketSamples(t)
	require.Equal(t, map[int64]int{0: 240, win.Milliseconds(): 240, 2 * win.Milliseconds(): 240}, got)
	require.Zero(t, localBlocks(t, f.dir))
	require.Equal(t, 3*win.Milliseconds(), f.head.ShippedBefore())
}

func TestShipperBacksOffAfterFailure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 5*time.Hour)
	f.bucket.down.Store(true)
	require.Error(t, f.shipper.Once(ctx))
	f.bucket.down.Store(false)
	// Within the backoff the shipper does not try again.
	require.NoError(t, f.shipper.Once(ctx))
	require.Equal(t, 1, localBlocks(t, f.dir))
	f.clock.advance(time.Minute)
	require.NoError(t, f.shipper.Once(ctx))
	require.Zero(t, localBlocks(t, f.dir))
}

func TestShipperResumesAfterRestart(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 5*time.Hour)
	f.bucket.down.Store(true)
	require.Error(t, f.shipper.Once(ctx))
	require.Equal(t, 1, localBlocks(t, f.dir))

	// Restart: the sealed bound and the pending block survive.
	f.close()
	f.bucket.down.Store(false)
	f.open(t)
	require.Equal(t, win.Milliseconds(), f.head.SealedBefore())
	require.NoError(t, f.shipper.Once(ctx))
	require.Equal(t, map[int64]int{0: 240}, f.bucketSamples(t))
	require.Zero(t, localBlocks(t, f.dir))

	// Another restart seals nothing twice.
	f.close()
	f.open(t)
	require.NoError(t, f.shipper.Once(ctx))
	require.Len(t, f.bucketSamples(t), 1)
	require.Len(t, f.store.AllMetas(), 1)
}

func TestShipperFinishesInterruptedUpload(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 5*time.Hour)
	// Index and chunks reach the bucket, meta.json does not: readers
	// ignore the block.
	f.bucket.metaDown.Store(true)
	require.Error(t, f.shipper.Once(ctx))
	require.Empty(t, f.bucketSamples(t))
	f.close()

	f.bucket.metaDown.Store(false)
	f.open(t)
	require.NoError(t, f.shipper.Once(ctx))
	require.Equal(t, map[int64]int{0: 240}, f.bucketSamples(t))
	require.Len(t, f.store.AllMetas(), 1, "the block is in the bucket once")
}

// TestShipperSkipsEmptyWindows: a stray sample decades before the rest
// seals one block for its window and one for the recent data, without
// visiting the empty windows between.
func TestShipperSkipsEmptyWindows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, time.Minute)
	recent := 20 * 365 * 24 * time.Hour
	f.write(t, recent, recent+5*time.Hour)
	require.NoError(t, f.shipper.Once(ctx))
	got := f.bucketSamples(t)
	require.Equal(t, map[int64]int{0: 2, recent.Milliseconds(): 240}, got)
	require.Equal(t, (recent + win).Milliseconds(), f.head.SealedBefore())
}

func TestShipperRemovesHalfWrittenBlocks(t *testing.T) {
	f := newFixture(t)
	f.close()
	tmp := filepath.Join(f.dir, "blocks", "01JBLOCKWRITTENHALFWAY0000.tmp")
	require.NoError(t, os.MkdirAll(filepath.Join(tmp, "chunks"), 0o755))
	f.open(t)
	_, err := os.Stat(tmp)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestShipperRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 7*time.Hour)
	require.NoError(t, f.shipper.Once(ctx))
	require.Len(t, f.bucketSamples(t), 2)
	f.close()

	// Blocks whose end is older than the retention go, oldest first.
	fsb := f.bucket
	f.open(t)
	sh, err := block.NewShipper(block.ShipperOptions{
		Source: f.head, Bucket: fsb, Dir: filepath.Join(f.dir, "blocks"), Store: f.store,
		Now:       func() time.Time { return time.UnixMilli(0).Add(5 * time.Hour) },
		Retention: 2 * time.Hour,
	})
	require.NoError(t, err)
	defer sh.Close()
	require.NoError(t, f.store.Sync(ctx))
	require.NoError(t, sh.Once(ctx))
	metas := f.store.AllMetas()
	require.Len(t, metas, 1)
	require.Equal(t, win.Milliseconds(), metas[0].MinTime)
}
