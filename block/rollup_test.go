package block

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/model"
)

const testWindow = testMaxt - testMint

// rollupEnv is a filesystem bucket holding three consecutive raw windows,
// a store over it and the series of each window.
type rollupEnv struct {
	bkt    *failingBucket
	store  *Store
	raw    [][]model.ChunkSeries
	labels map[string]string
}

func newRollupEnv(t *testing.T) *rollupEnv {
	t.Helper()
	ctx := context.Background()
	fs, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := &rollupEnv{bkt: &failingBucket{Bucket: fs}, labels: map[string]string{"tenant": "t1"}}
	rng := rand.New(rand.NewSource(7))
	dir := t.TempDir()
	for i := range int64(3) {
		mint := testMint + i*testWindow
		series := genSeries(t, rng, 40, mint, mint+testWindow, 15_000, 2)
		m, err := Write(context.Background(), dir, mint, mint+testWindow, series, WriteOptions{Labels: env.labels})
		if err != nil {
			t.Fatal(err)
		}
		if err := Upload(ctx, fs, filepath.Join(dir, m.ULID.String())); err != nil {
			t.Fatal(err)
		}
		env.raw = append(env.raw, series)
	}
	env.store, err = NewStore(StoreOptions{Bucket: fs, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.store.Close() })
	return env
}

// count returns the number of known blocks at resolution res.
func (e *rollupEnv) count(res int64) int {
	n := 0
	for _, m := range e.store.AllMetas() {
		if m.Thanos.Downsample.Resolution == res {
			n++
		}
	}
	return n
}

// failingBucket fails the upload of meta.json of the roll-ups fail selects.
type failingBucket struct {
	objstore.Bucket
	fail atomic.Pointer[func(Meta) bool]
}

func (b *failingBucket) Upload(ctx context.Context, name string, r io.Reader, opts ...objstore.ObjectUploadOption) error {
	if f := b.fail.Load(); f != nil && strings.HasSuffix(name, "/"+MetaFilename) {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if m, err := parseMeta(data); err == nil && (*f)(m) {
			return errors.New("injected upload failure")
		}
		r = bytes.NewReader(data)
	}
	return b.Bucket.Upload(ctx, name, r, opts...)
}

func TestRollupsOnce(t *testing.T) {
	ctx := context.Background()
	env := newRollupEnv(t)
	reg := prometheus.NewRegistry()
	scratch := t.TempDir()
	r, err := NewRollups(RollupOptions{Bucket: env.bkt, Store: env.store, Dir: scratch, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Once(ctx); err != nil {
		t.Fatalf("Once: %v", err)
	}
	for _, res := range []int64{0, Resolution5m, Resolution1h} {
		if n := env.count(res); n != 3 {
			t.Errorf("resolution %d: %d blocks, want 3", res, n)
		}
	}
	if got := testutil.ToFloat64(r.metrics.blocks.WithLabelValues("5m")); got != 3 {
		t.Errorf("gorilla_rollup_blocks_total{resolution=5m} = %v, want 3", got)
	}
	if ents, _ := os.ReadDir(scratch); len(ents) != 0 {
		t.Errorf("scratch directory holds %d entries after Once", len(ents))
	}

	// A second pass finds nothing to do.
	before := len(env.store.AllMetas())
	if err := r.Once(ctx); err != nil {
		t.Fatalf("second Once: %v", err)
	}
	if after := len(env.store.AllMetas()); after != before {
		t.Errorf("second Once: %d blocks, want %d", after, before)
	}
	if got := testutil.ToFloat64(r.metrics.blocks.WithLabelValues("1h")); got != 3 {
		t.Errorf("gorilla_rollup_blocks_total{resolution=1h} = %v after two passes, want 3", got)
	}

	// Each roll-up holds what Downsample makes of its raw window.
	maxOnly := labels.MustNewMatcher(labels.MatchEqual, RollupLabel, AggrMax)
	for _, m := range env.store.AllMetas() {
		res := m.Thanos.Downsample.Resolution
		if res == 0 {
			continue
		}
		if m.Thanos.Labels["tenant"] != "t1" {
			t.Errorf("roll-up %s has external labels %v", m.ULID, m.Thanos.Labels)
		}
		want, err := Downsample(env.raw[(m.MinTime-testMint)/testWindow], res)
		if err != nil {
			t.Fatal(err)
		}
		b, release, err := env.store.Open(ctx, m.ULID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Select(ctx, m.MinTime, m.MaxTime, maxOnly)
		release()
		if err != nil {
			t.Fatal(err)
		}
		var wantMax []model.ChunkSeries
		for _, s := range want {
			if s.Labels.Get(RollupLabel) == AggrMax {
				wantMax = append(wantMax, s)
			}
		}
		if len(got) != len(wantMax) {
			t.Fatalf("roll-up %s: %d max series, want %d", m.ULID, len(got), len(wantMax))
		}
		for i := range got {
			if !labels.Equal(got[i].Labels, wantMax[i].Labels) || len(got[i].Chunks) != 1 ||
				!bytes.Equal(got[i].Chunks[0].Data, wantMax[i].Chunks[0].Data) {
				t.Fatalf("roll-up %s series %d: got %s, want %s", m.ULID, i, got[i].Labels, wantMax[i].Labels)
			}
		}
	}
}

func TestRollupsRawRetention(t *testing.T) {
	ctx := context.Background()
	env := newRollupEnv(t)
	// The 1h roll-up of the first window fails to upload.
	fail := func(m Meta) bool { return m.MinTime == testMint && m.Thanos.Downsample.Resolution == Resolution1h }
	env.bkt.fail.Store(&fail)
	// Windows 0 and 1 ended more than RawRetention ago, window 2 did not.
	now := time.UnixMilli(testMint + 3*testWindow + time.Hour.Milliseconds())
	r, err := NewRollups(RollupOptions{
		Bucket: env.bkt, Store: env.store, Dir: t.TempDir(), Registerer: prometheus.NewRegistry(),
		RawRetention: 2 * time.Hour, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Once(ctx); err == nil {
		t.Fatal("Once with a failing upload returned no error")
	}
	raw := func() []int64 {
		var out []int64
		for _, m := range env.store.AllMetas() {
			if m.Thanos.Downsample.Resolution == 0 {
				out = append(out, (m.MinTime-testMint)/testWindow)
			}
		}
		return out
	}
	if got := raw(); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Errorf("raw windows left: %v, want [0 2] (0 lacks its 1h roll-up, 2 is recent)", got)
	}
	if n := env.count(Resolution1h); n != 2 {
		t.Errorf("%d 1h roll-ups, want 2", n)
	}
	if got := testutil.ToFloat64(r.metrics.failures); got != 1 {
		t.Errorf("gorilla_rollup_failures_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.metrics.rawDeleted); got != 1 {
		t.Errorf("gorilla_rollup_raw_deleted_total = %v, want 1", got)
	}
	// No incomplete roll-up is left in the bucket.
	var dirs int
	if err := env.bkt.Iter(ctx, "", func(string) error { dirs++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := len(env.store.AllMetas()); dirs != want {
		t.Errorf("bucket holds %d directories, %d complete blocks", dirs, want)
	}

	// Once the upload works, the window is rolled up and its raw block goes.
	env.bkt.fail.Store(nil)
	if err := r.Once(ctx); err != nil {
		t.Fatalf("Once: %v", err)
	}
	if got := raw(); len(got) != 1 || got[0] != 2 {
		t.Errorf("raw windows left: %v, want [2]", got)
	}
	for _, res := range []int64{Resolution5m, Resolution1h} {
		if n := env.count(res); n != 3 {
			t.Errorf("resolution %d: %d blocks, want 3", res, n)
		}
	}
}

func TestNewRollupsOptions(t *testing.T) {
	env := newRollupEnv(t)
	if _, err := NewRollups(RollupOptions{Store: env.store, Dir: t.TempDir()}); err == nil {
		t.Error("no bucket: no error")
	}
	if _, err := NewRollups(RollupOptions{Bucket: env.bkt, Store: env.store, Dir: t.TempDir(), Resolutions: []int64{0}}); err == nil {
		t.Error("resolution 0: no error")
	}
	// Blocks a crash left in the scratch directory are removed.
	dir := t.TempDir()
	left := filepath.Join(dir, "01HF84E4004565MHXDSMTECVDJ.tmp")
	if err := os.MkdirAll(left, 0o755); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	r, err := NewRollups(RollupOptions{Bucket: env.bkt, Store: env.store, Dir: dir, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("left-over block still there: %v", err)
	}
	// Close unregisters, so a new job registers again.
	r.Close()
	r, err = NewRollups(RollupOptions{Bucket: env.bkt, Store: env.store, Dir: dir, Registerer: reg})
	if err != nil {
		t.Fatalf("NewRollups after Close: %v", err)
	}
	r.Close()
}

func TestRollupsRun(t *testing.T) {
	env := newRollupEnv(t)
	r, err := NewRollups(RollupOptions{Bucket: env.bkt, Store: env.store, Dir: t.TempDir(), Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for env.count(Resolution1h) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := env.count(Resolution1h); n != 3 {
		t.Errorf("%d 1h roll-ups after Run, want 3", n)
	}
	// Nothing of the job outlives Run.
	if err := env.store.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}

func TestResolutionName(t *testing.T) {
	for res, want := range map[int64]string{Resolution5m: "5m", Resolution1h: "1h", 30_000: "30s", 250: "250ms", 7_200_000: "2h"} {
		if got := resolutionName(res); got != want {
			t.Errorf("resolutionName(%d) = %q, want %q", res, got, want)
		}
	}
}
