package block

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"
)

// overlapBucket counts the index downloads in flight and holds each until
// want have been in flight at once for a moment, or until a guard expires
// (the peak then shows the overlap that was missing).
type overlapBucket struct {
	objstore.Bucket
	want int

	mu       sync.Mutex
	inflight int
	peak     int
	reached  chan struct{}
	once     sync.Once
}

func (b *overlapBucket) open() { b.once.Do(func() { close(b.reached) }) }

func (b *overlapBucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if !strings.HasSuffix(name, "/"+IndexFilename) {
		return b.Bucket.Get(ctx, name)
	}
	b.mu.Lock()
	b.inflight++
	b.peak = max(b.peak, b.inflight)
	if b.inflight == b.want {
		// Downloads beyond the limit would start meanwhile and raise the
		// peak; within it, none can.
		time.AfterFunc(100*time.Millisecond, b.open)
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inflight--
		b.mu.Unlock()
	}()
	select {
	case <-b.reached:
	case <-time.After(2 * time.Second):
		b.open()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Bucket.Get(ctx, name)
}

// TestStoreBoundsConcurrentDownloads opens eight blocks at once, as
// concurrent queries do, through a store that downloads at most two at a
// time: two overlap, never more.
func TestStoreBoundsConcurrentDownloads(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const blocks, limit = 8, 2
	for k := range int64(blocks) {
		f.upload(t, k, WriteOptions{})
	}
	bkt := &overlapBucket{Bucket: f.bkt, want: limit, reached: make(chan struct{})}
	s, err := NewStore(StoreOptions{Bucket: bkt, CacheDir: t.TempDir(), Registerer: prometheus.NewRegistry(), MaxConcurrentDownloads: limit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, blocks)
	for i, m := range f.metas {
		wg.Go(func() {
			_, release, err := s.Open(ctx, m.ULID)
			if err == nil {
				release()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if bkt.peak != limit {
		t.Fatalf("downloads in flight at once: got %d, want the limit %d", bkt.peak, limit)
	}
}
