package wal

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFsyncAlwaysObserved(t *testing.T) {
	var n atomic.Int64
	w := mustOpen(t, t.TempDir(), Options{Fsync: FsyncAlways, ObserveFsync: func(time.Duration) { n.Add(1) }})
	const calls = 20
	for i := range calls {
		if err := w.Log(testRecord(uint64(i), 100)); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != int64(i+1) {
			t.Fatalf("after %d sequential Log calls: %d fsyncs observed", i+1, got)
		}
	}
	if s := w.Stats(); s.Fsyncs != calls {
		t.Fatalf("Stats().Fsyncs = %d, want %d", s.Fsyncs, calls)
	}
	// Concurrent callers share fsyncs, but each call is covered by one.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if err := w.Log(testRecord(uint64(g*100+i), 100)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := n.Load(); got < calls+1 || got > calls+160 {
		t.Fatalf("%d fsyncs observed for %d batches", got, calls+160)
	}
}

// TestFsyncInterval checks that the background loop fsyncs what Log wrote,
// and only when something was written, using an injected clock for the
// observed durations.
func TestFsyncInterval(t *testing.T) {
	var (
		mu   sync.Mutex
		durs []time.Duration
		now  = time.Unix(0, 0)
	)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	observed := make(chan struct{}, 100)
	w := mustOpen(t, t.TempDir(), Options{
		FsyncInterval: 5 * time.Millisecond,
		Now:           clock,
		ObserveFsync: func(d time.Duration) {
			mu.Lock()
			durs = append(durs, d)
			mu.Unlock()
			observed <- struct{}{}
		},
	})
	if err := w.Log([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().Fsyncs; got != 0 {
		// Log itself must never fsync under the interval policy; only a
		// tick can have, and that is fine, so just note it.
		t.Logf("fsyncs right after Log: %d", got)
	}
	select {
	case <-observed:
	case <-time.After(10 * time.Second):
		t.Fatal("background fsync never happened")
	}
	mu.Lock()
	if durs[0] != time.Millisecond {
		t.Fatalf("observed %v, want the injected clock's 1ms", durs[0])
	}
	mu.Unlock()
	// Idle: nothing more to fsync for many intervals.
	before := w.Stats().Fsyncs
	time.Sleep(50 * time.Millisecond)
	if got := w.Stats().Fsyncs; got != before {
		t.Fatalf("idle WAL fsynced %d times", got-before)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
