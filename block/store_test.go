package block

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"
	"go.uber.org/goleak"
)

const window = int64(2 * 3600 * 1000)

// storeFixture is a filesystem bucket with uploaded blocks.
type storeFixture struct {
	bkt   objstore.Bucket
	local string
	metas []Meta // uploaded, in order
}

func newFixture(t *testing.T) *storeFixture {
	bkt, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &storeFixture{bkt: bkt, local: t.TempDir()}
}

// upload writes and uploads a block for window k (0-based from testMint).
func (f *storeFixture) upload(t *testing.T, k int64, opts WriteOptions) Meta {
	t.Helper()
	mint := testMint + k*window
	series := genSeries(t, rand.New(rand.NewSource(k)), 40, mint, mint+window, 30000, 1)
	m, err := Write(context.Background(), f.local, mint, mint+window, series, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Upload(context.Background(), f.bkt, filepath.Join(f.local, m.ULID.String())); err != nil {
		t.Fatal(err)
	}
	f.metas = append(f.metas, m)
	return m
}

func newTestStore(t *testing.T, bkt objstore.Bucket, cacheDir string, cacheBytes int64) *Store {
	t.Helper()
	s, err := NewStore(StoreOptions{Bucket: bkt, CacheDir: cacheDir, CacheBytes: cacheBytes, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ids(ms []Meta) []ulid.ULID {
	out := make([]ulid.ULID, len(ms))
	for i, m := range ms {
		out[i] = m.ULID
	}
	return out
}

func TestStoreSyncAndMetas(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	f := newFixture(t)
	b0 := f.upload(t, 0, WriteOptions{})
	b1 := f.upload(t, 1, WriteOptions{})
	b2 := f.upload(t, 2, WriteOptions{})
	// The same window uploaded again after a crash: another ULID.
	dup := f.upload(t, 1, WriteOptions{})
	// Another tenant's block for the same window is not a duplicate.
	other := f.upload(t, 1, WriteOptions{Labels: map[string]string{"tenant": "b"}})
	// An incomplete block: data uploaded, meta.json not yet.
	inc := f.upload(t, 3, WriteOptions{})
	if err := f.bkt.Delete(ctx, inc.ULID.String()+"/meta.json"); err != nil {
		t.Fatal(err)
	}
	// Noise at the top level of the bucket.
	if err := f.bkt.Upload(ctx, "not-a-block/file", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}

	s := newTestStore(t, f.bkt, t.TempDir(), 0)
	if len(s.AllMetas()) != 0 {
		t.Fatal("metas before Sync")
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(s.AllMetas()); got != 5 {
		t.Fatalf("AllMetas has %d blocks, want 5 (incomplete ignored)", got)
	}
	first := b1
	if dup.ULID.Compare(b1.ULID) < 0 {
		first = dup
	}
	got := s.Metas(testMint, testMint+10*window)
	want := []ulid.ULID{b0.ULID, first.ULID, other.ULID, b2.ULID}
	if first.ULID.Compare(other.ULID) > 0 {
		want[1], want[2] = other.ULID, first.ULID
	}
	if g := ids(got); len(g) != 4 || g[0] != want[0] || g[3] != want[3] || !(g[1] == want[1] && g[2] == want[2]) {
		t.Fatalf("Metas = %v, want %v", g, want)
	}
	// Time filtering: [mint, maxt] closed, block maxTime exclusive.
	if g := ids(s.Metas(testMint+window, testMint+window)); len(g) != 2 {
		t.Fatalf("Metas at the start of window 1 = %v, want the 2 deduplicated window-1 blocks", g)
	}
	if g := ids(s.Metas(testMint-10, testMint-1)); len(g) != 0 {
		t.Fatalf("Metas before all blocks = %v", g)
	}
	if v := testutil.ToFloat64(s.metrics.known); v != 5 {
		t.Fatalf("known_blocks = %v", v)
	}

	// Completing the incomplete block makes it appear.
	if err := uploadFile(ctx, f.bkt, filepath.Join(f.local, inc.ULID.String(), "meta.json"), inc.ULID.String()+"/meta.json"); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(s.AllMetas()); got != 6 {
		t.Fatalf("after completing: %d blocks", got)
	}
	// Deleted blocks are forgotten.
	if err := Delete(ctx, f.bkt, b0.ULID); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range s.AllMetas() {
		if m.ULID == b0.ULID {
			t.Fatal("deleted block still known")
		}
	}
}

func TestStoreOpenCache(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	f := newFixture(t)
	m := f.upload(t, 0, WriteOptions{})
	cache := t.TempDir()
	s := newTestStore(t, f.bkt, cache, 0)

	if _, _, err := s.Open(ctx, m.ULID); !errors.Is(err, ErrUnknownBlock) {
		t.Fatalf("Open before Sync: %v", err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	b, release, err := s.Open(ctx, m.ULID)
	if err != nil {
		t.Fatal(err)
	}
	series, err := b.Select(ctx, testMint, testMaxt)
	if err != nil || len(series) != 40 {
		t.Fatalf("Select: %d series, %v", len(series), err)
	}
	release()
	release() // a second call is harmless
	if testutil.ToFloat64(s.metrics.misses) != 1 || testutil.ToFloat64(s.metrics.hits) != 0 {
		t.Fatal("first Open is not one miss")
	}
	if got, want := testutil.ToFloat64(s.metrics.downloadBytes), float64(m.DataBytes()+metaSize(t, f, m)); got != want {
		t.Fatalf("download_bytes = %v, want %v", got, want)
	}
	b2, release2, err := s.Open(ctx, m.ULID)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if b2 != b || testutil.ToFloat64(s.metrics.hits) != 1 || testutil.ToFloat64(s.metrics.misses) != 1 {
		t.Fatal("second Open did not hit the cache")
	}
	if testutil.ToFloat64(s.metrics.cachedBytes) != float64(b.Size()) || s.CachedBytes() != b.Size() {
		t.Fatalf("cached_bytes %v, block size %d", testutil.ToFloat64(s.metrics.cachedBytes), b.Size())
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 1 || ents[0].Name() != m.ULID.String() {
		t.Fatalf("cache dir holds %v", ents)
	}
}

func metaSize(t *testing.T, f *storeFixture, m Meta) int64 {
	fi, err := os.Stat(filepath.Join(f.local, m.ULID.String(), "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestStoreReusesCacheAfterRestart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.upload(t, 0, WriteOptions{})
	cache := t.TempDir()
	s := newTestStore(t, f.bkt, cache, 0)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_, release, err := s.Open(ctx, m.ULID)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A partial download left by a crash is cleaned up.
	if err := os.MkdirAll(filepath.Join(cache, m.ULID.String()+".tmp-123"), 0o777); err != nil {
		t.Fatal(err)
	}
	s2 := newTestStore(t, f.bkt, cache, 0)
	if err := s2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_, release, err = s2.Open(ctx, m.ULID)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if testutil.ToFloat64(s2.metrics.misses) != 0 || testutil.ToFloat64(s2.metrics.hits) != 1 {
		t.Fatal("restarted store downloaded again")
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 1 {
		t.Fatalf("cache dir holds %d entries", len(ents))
	}
}

// cached reports whether the block's directory is in the cache.
func cached(cache string, id ulid.ULID) bool {
	_, err := os.Stat(filepath.Join(cache, id.String()))
	return err == nil
}

func TestStoreLRUEviction(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	f := newFixture(t)
	a, b, c := f.upload(t, 0, WriteOptions{}), f.upload(t, 1, WriteOptions{}), f.upload(t, 2, WriteOptions{})
	size := a.DataBytes() + metaSize(t, f, a)
	cache := t.TempDir()
	// Room for two blocks and a half.
	s := newTestStore(t, f.bkt, cache, size*5/2)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	use := func(m Meta) {
		t.Helper()
		_, release, err := s.Open(ctx, m.ULID)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	use(a)
	use(b)
	use(a) // a is now more recent than b
	use(c) // over the limit: b, the least recently used, goes
	if !cached(cache, a.ULID) || cached(cache, b.ULID) || !cached(cache, c.ULID) {
		t.Fatalf("cached a=%v b=%v c=%v, want a and c", cached(cache, a.ULID), cached(cache, b.ULID), cached(cache, c.ULID))
	}
	if testutil.ToFloat64(s.metrics.evictions) != 1 {
		t.Fatalf("evictions = %v", testutil.ToFloat64(s.metrics.evictions))
	}
}

func TestStoreNeverEvictsPinned(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.upload(t, 0, WriteOptions{}), f.upload(t, 1, WriteOptions{})
	cache := t.TempDir()
	s := newTestStore(t, f.bkt, cache, 1) // everything is over the limit
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ba, releaseA, err := s.Open(ctx, a.ULID)
	if err != nil {
		t.Fatal(err)
	}
	_, releaseB, err := s.Open(ctx, b.ULID)
	if err != nil {
		t.Fatal(err)
	}
	releaseB()
	if !cached(cache, a.ULID) || cached(cache, b.ULID) {
		t.Fatalf("cached a=%v b=%v, want only the pinned a", cached(cache, a.ULID), cached(cache, b.ULID))
	}
	if _, err := ba.Select(ctx, testMint, testMaxt); err != nil {
		t.Fatalf("pinned block unusable: %v", err)
	}
	releaseA()
	if cached(cache, a.ULID) {
		t.Fatal("released block over the limit kept")
	}
	if _, err := ba.Select(ctx, testMint, testMaxt); !errors.Is(err, ErrClosed) {
		t.Fatalf("Select on an evicted block: %v", err)
	}
}

func TestStoreConcurrentOpenDownloadsOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	f := newFixture(t)
	m := f.upload(t, 0, WriteOptions{})
	s := newTestStore(t, f.bkt, t.TempDir(), 0)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	blocks := make([]*Block, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			b, release, err := s.Open(ctx, m.ULID)
			blocks[i], errs[i] = b, err
			if err == nil {
				_, errs[i] = b.Select(ctx, testMint, testMaxt)
				release()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if blocks[i] != blocks[0] {
			t.Fatal("Opens returned different blocks")
		}
	}
	if testutil.ToFloat64(s.metrics.misses) != 1 {
		t.Fatalf("misses = %v, want 1 download", testutil.ToFloat64(s.metrics.misses))
	}
	if got, want := testutil.ToFloat64(s.metrics.downloadBytes), float64(m.DataBytes()+metaSize(t, f, m)); got != want {
		t.Fatalf("download_bytes = %v, want one block's %v", got, want)
	}
}

func TestStoreDropsDeletedBlocks(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.upload(t, 0, WriteOptions{}), f.upload(t, 1, WriteOptions{})
	cache := t.TempDir()
	s := newTestStore(t, f.bkt, cache, 0)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_, releaseA, err := s.Open(ctx, a.ULID)
	if err != nil {
		t.Fatal(err)
	}
	_, releaseB, err := s.Open(ctx, b.ULID)
	if err != nil {
		t.Fatal(err)
	}
	releaseB()
	for _, m := range []Meta{a, b} {
		if err := Delete(ctx, f.bkt, m.ULID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.AllMetas()) != 0 || len(s.Metas(0, 1<<62)) != 0 {
		t.Fatal("deleted blocks still listed")
	}
	if cached(cache, b.ULID) {
		t.Fatal("unpinned deleted block still cached")
	}
	if !cached(cache, a.ULID) {
		t.Fatal("pinned deleted block removed while in use")
	}
	if _, _, err := s.Open(ctx, a.ULID); !errors.Is(err, ErrUnknownBlock) {
		t.Fatalf("Open of a deleted block: %v", err)
	}
	releaseA()
	if cached(cache, a.ULID) {
		t.Fatal("deleted block kept after its release")
	}
}

func TestStoreRejectsTruncatedDownload(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	f := newFixture(t)
	m := f.upload(t, 0, WriteOptions{})
	// The chunk segment caught half-way through a second upload.
	if err := f.bkt.Upload(ctx, m.ULID.String()+"/chunks/000001", strings.NewReader("short")); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	s := newTestStore(t, f.bkt, cache, 0)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, m.ULID); err == nil {
		t.Fatal("opened a truncated block")
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 0 {
		t.Fatalf("cache dir holds %d entries after a failed download", len(ents))
	}
	// Once the upload is complete again, Open works.
	if err := Upload(ctx, f.bkt, filepath.Join(f.local, m.ULID.String())); err != nil {
		t.Fatal(err)
	}
	_, release, err := s.Open(ctx, m.ULID)
	if err != nil {
		t.Fatal(err)
	}
	release()
}
