package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/oklog/run"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestLoopsRunAsActors checks the loops' life in a run group: none starts
// before the storage is open, each gets the blocks, the storage's stop
// waits for all of them, and the group's end stops them.
func TestLoopsRunAsActors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var g run.Group
	l := newLoops()
	b := &blocks{}
	var started, returned, wrongBlocks atomic.Int32
	running := make(chan struct{}, 2)
	for _, name := range []string{"a", "b"} {
		l.add(&g, name, func(ctx context.Context, got *blocks) error {
			if got != b {
				wrongBlocks.Add(1)
			}
			started.Add(1)
			running <- struct{}{}
			<-ctx.Done()
			returned.Add(1)
			return ctx.Err()
		})
	}
	var startedEarly, returnedAtStop int32
	g.Add(func() error {
		startedEarly = started.Load()
		l.start(b)
		<-running
		<-running
		l.stop()
		returnedAtStop = returned.Load()
		return errors.New("storage closed")
	}, func(error) {})
	require.EqualError(t, g.Run(), "storage closed")
	require.Zero(t, startedEarly, "a loop started before the storage was open")
	require.Equal(t, int32(2), started.Load())
	require.Zero(t, wrongBlocks.Load(), "a loop got other blocks than the storage opened")
	require.Equal(t, int32(2), returnedAtStop, "the storage closed before every loop returned")
}

func TestLoopReturningEarlyStopsTheServer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var g run.Group
	l := newLoops()
	l.add(&g, "block shipper", func(context.Context, *blocks) error { return errors.New("bucket gone") })
	l.add(&g, "bucket listing", func(ctx context.Context, _ *blocks) error { <-ctx.Done(); return nil })
	stop := make(chan struct{})
	g.Add(func() error { l.start(&blocks{}); <-stop; l.stop(); return nil }, func(error) { close(stop) })
	require.EqualError(t, g.Run(), "block shipper: bucket gone")
}

func TestLoopsNeverStartedWhenStorageFails(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var g run.Group
	l := newLoops()
	var ran atomic.Bool
	l.add(&g, "block shipper", func(context.Context, *blocks) error { ran.Store(true); return nil })
	g.Add(func() error { return errors.New("open storage: disk gone") }, func(error) {})
	require.EqualError(t, g.Run(), "open storage: disk gone")
	require.False(t, ran.Load(), "a loop ran without storage")
}
