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

// manualTicker is a Ticker the test drives: tick returns once the loop has
// taken the tick, and tick twice in a row returns only after the loop is
// done with the first (the channel is unbuffered).
type manualTicker struct {
	ch      chan time.Time
	stopped atomic.Bool
}

func newManualTicker() *manualTicker { return &manualTicker{ch: make(chan time.Time)} }

func (m *manualTicker) C() <-chan time.Time { return m.ch }
func (m *manualTicker) Stop()               { m.stopped.Store(true) }
func (m *manualTicker) tick()               { m.ch <- time.Time{} }

// settle returns once the loop has finished handling every tick sent so
// far: it waits at the select again only when it is done.
func (m *manualTicker) settle() { m.tick() }

// TestFsyncInterval checks that the background loop fsyncs what Log wrote,
// on a tick and only when something was written, using an injected ticker
// and an injected clock for the observed durations.
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
	ticker := newManualTicker()
	made := make(chan time.Duration, 1)
	w := mustOpen(t, t.TempDir(), Options{
		FsyncInterval: 5 * time.Millisecond,
		Now:           clock,
		NewTicker: func(d time.Duration) Ticker {
			made <- d
			return ticker
		},
		ObserveFsync: func(d time.Duration) {
			mu.Lock()
			durs = append(durs, d)
			mu.Unlock()
		},
	})
	if got := <-made; got != 5*time.Millisecond {
		t.Fatalf("ticker made with period %v, want the FsyncInterval 5ms", got)
	}
	if err := w.Log([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().Fsyncs; got != 0 {
		t.Fatalf("fsyncs before any tick: %d, want 0 (Log must not fsync under the interval policy)", got)
	}
	ticker.tick()
	ticker.settle()
	if got := w.Stats().Fsyncs; got != 1 {
		t.Fatalf("fsyncs after one tick: %d, want 1", got)
	}
	mu.Lock()
	if len(durs) != 1 || durs[0] != time.Millisecond {
		t.Fatalf("observed %v, want one fsync of the injected clock's 1ms", durs)
	}
	mu.Unlock()
	// Idle: nothing more to fsync, however many ticks come.
	for range 10 {
		ticker.tick()
	}
	ticker.settle()
	if got := w.Stats().Fsyncs; got != 1 {
		t.Fatalf("idle WAL fsynced %d times over 10 ticks", got-1)
	}
	// A new write is fsynced by the next tick.
	if err := w.Log([]byte("y")); err != nil {
		t.Fatal(err)
	}
	ticker.tick()
	ticker.settle()
	if got := w.Stats().Fsyncs; got != 2 {
		t.Fatalf("fsyncs after a second write and tick: %d, want 2", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !ticker.stopped.Load() {
		t.Fatal("Close did not stop the ticker")
	}
}
