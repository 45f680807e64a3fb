package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/oklog/run"
)

// loops are the storage's background loops (the block shipper, the
// bucket listing, the roll-ups), each an actor of the server's run group.
// They wait until the storage actor has opened the head and the blocks,
// run until the group is interrupted, and the storage actor closes the
// head and the blocks only after every loop has returned.
//
// The head's own maintenance (retention, WAL checkpoints) has no Run of
// its own: head.Open starts it and Head.Close stops it, so it lives and
// ends with the storage actor.
type loops struct {
	ctx         context.Context
	cancel      context.CancelFunc
	ready       chan struct{} // closed by start, once blocks is set
	blocks      *blocks       // set before ready is closed
	wg          sync.WaitGroup
	interrupted chan struct{} // closed when the group interrupts the loops
	once        sync.Once
}

func newLoops() *loops {
	ctx, cancel := context.WithCancel(context.Background())
	return &loops{ctx: ctx, cancel: cancel, ready: make(chan struct{}), interrupted: make(chan struct{})}
}

// add adds loop to g as an actor named what. The loop must run until its
// context is done; should it return earlier, the group (and so the
// server) stops with its error. A loop ended by stop returns from its
// actor only once the group interrupts it, so that the group's error is
// the storage's, not a loop's nil.
func (l *loops) add(g *run.Group, what string, loop func(ctx context.Context, b *blocks) error) {
	l.wg.Add(1)
	g.Add(func() error {
		select {
		case <-l.ready:
		case <-l.ctx.Done():
			l.wg.Done()
			<-l.interrupted
			return nil // the storage never opened
		}
		err := loop(l.ctx, l.blocks)
		l.wg.Done()
		if l.ctx.Err() != nil {
			<-l.interrupted
			return nil
		}
		if err == nil {
			err = errors.New("returned while the server runs")
		}
		return fmt.Errorf("%s: %w", what, err)
	}, func(error) {
		l.once.Do(func() { close(l.interrupted) })
		l.cancel()
	})
}

// start lets the loops run over b.
func (l *loops) start(b *blocks) {
	l.blocks = b
	close(l.ready)
}

// stop ends the loops and waits until all have returned.
func (l *loops) stop() {
	l.cancel()
	l.wg.Wait()
}

// storageLoop is one background loop of a stack's storage.
type storageLoop struct {
	what string
	run  func(ctx context.Context, b *blocks) error
}

// storageLoops are the background loops every stack runs: the block
// shipper, the bucket listing, the sealed-window load, if on the roll-ups
// and in a cluster the replica compaction. Each runs until ctx is done.
func (srv *server) storageLoops() []storageLoop {
	ls := []storageLoop{
		{"block shipper", func(ctx context.Context, b *blocks) error { return b.shipper.Run(ctx) }},
		{"bucket listing", func(ctx context.Context, b *blocks) error {
			return b.syncEvery(ctx, srv.s.BlockSyncInterval, srv.log)
		}},
		{"sealed-window load", func(ctx context.Context, b *blocks) error { return b.loadSealed(ctx, srv.log) }},
	}
	if srv.s.Rollups {
		ls = append(ls, storageLoop{"block roll-ups", func(ctx context.Context, b *blocks) error { return b.rollups.Run(ctx) }})
	}
	if srv.cluster != nil {
		// Every replica uploads its own block of a window; the window's
		// owner in the ring merges them into one.
		ls = append(ls, srv.compactionLoop(srv.cluster.ownsWindow))
	}
	return ls
}
