package block

import (
	"context"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/thanos-io/objstore/providers/filesystem"
)

// TestRollupsSkipResolutionsThatDoNotDivideTheWindow rolls up 10m windows:
// 5m divides them and gets its roll-ups; 1h does not, and gets none (its
// intervals would straddle windows). The raw retention then needs only
// the 5m roll-ups.
func TestRollupsSkipResolutionsThatDoNotDivideTheWindow(t *testing.T) {
	ctx := context.Background()
	fs, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const window = int64(10 * time.Minute / time.Millisecond)
	mint0 := testMint - testMint%window
	rng := rand.New(rand.NewSource(3))
	dir := t.TempDir()
	for i := range int64(2) {
		mint := mint0 + i*window
		m, err := Write(context.Background(), dir, mint, mint+window, genSeries(t, rng, 5, mint, mint+window, 15_000, 1), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := Upload(ctx, fs, filepath.Join(dir, m.ULID.String())); err != nil {
			t.Fatal(err)
		}
	}
	store, err := NewStore(StoreOptions{Bucket: fs, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	env := &rollupEnv{store: store}
	now := time.UnixMilli(mint0 + 2*window).Add(48 * time.Hour)
	r, err := NewRollups(RollupOptions{
		Bucket: fs, Store: store, Dir: t.TempDir(), Registerer: prometheus.NewRegistry(),
		RawRetention: 24 * time.Hour, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Once(ctx); err != nil {
		t.Fatalf("Once: %v", err)
	}
	if got := env.count(Resolution5m); got != 2 {
		t.Errorf("5m roll-ups: %d, want 2", got)
	}
	if got := env.count(Resolution1h); got != 0 {
		t.Errorf("1h roll-ups of 10m windows: %d, want 0", got)
	}
	if got := testutil.ToFloat64(r.metrics.rawDeleted); got != 2 {
		t.Errorf("raw blocks deleted past the raw retention: %v, want 2 (their 5m roll-ups are all they can have)", got)
	}
}
