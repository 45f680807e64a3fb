package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
)

// blocks are the sealed blocks: the bucket, the store that lists and caches
// them for queries, and the shipper that seals and uploads the head's
// closed windows.
type blocks struct {
	bucket  objstore.Bucket
	store   *block.Store
	shipper *block.Shipper
	rollups *block.Rollups // nil when roll-ups are off
	head    *head.Head     // the shipper's source; LoadSealed fills it
	node    string         // this cluster node's name, "" without cluster mode
	// env is where the stack keeps its data and reports, for the loops
	// that need scratch space of their own (the replica compaction).
	env stackEnv
}

// openBlocks opens the store over env.bucket, and readies the shipper over
// h: it tells the head which windows are sealed before any write arrives.
// It does no network I/O; the stack's loops (loops.go) sync and ship. On
// error the bucket is the caller's to close.
func (srv *server) openBlocks(h *head.Head, env stackEnv) (*blocks, error) {
	bkt, cacheDir := env.bucket, env.cacheDir
	store, err := block.NewStore(block.StoreOptions{
		Bucket: bkt, CacheDir: cacheDir, CacheBytes: srv.s.BlockCacheBytes, Logger: srv.log, Registerer: env.reg,
	})
	if err != nil {
		return nil, fmt.Errorf("block store: %w", err)
	}
	shipper, err := block.NewShipper(block.ShipperOptions{
		Source:    h,
		Bucket:    bkt,
		Dir:       filepath.Join(env.dir, "blocks"),
		Interval:  srv.s.BlockShipInterval,
		Retention: srv.s.StorageRetention,
		Store:     store,
		// In a cluster every replica seals its own blocks, named by node.
		ExternalLabels: srv.cluster.blockLabels(),
		Encoding:       block.ChunkEncoding(srv.s.ChunkEncoding),
		Logger:         srv.log,
		Registerer:     env.reg,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("block shipper: %w", err), store.Close())
	}
	b := &blocks{bucket: bkt, store: store, shipper: shipper, head: h, node: srv.cluster.name(), env: env}
	if srv.s.Rollups {
		b.rollups, err = block.NewRollups(block.RollupOptions{
			Bucket: bkt, Store: store, Dir: filepath.Join(env.dir, "rollups"),
			RawRetention: srv.s.RawRetention, Interval: srv.s.RollupInterval, Encoding: block.ChunkEncoding(srv.s.ChunkEncoding),
			Logger: srv.log, Registerer: env.reg,
		})
		if err != nil {
			shipper.Close()
			return nil, errors.Join(fmt.Errorf("roll-ups: %w", err), store.Close())
		}
	}
	return b, nil
}

// syncOnce lists the bucket once, within a minute; a failure is logged:
// the head still serves recent data and writes.
func (b *blocks) syncOnce(ctx context.Context, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := b.store.Sync(ctx); err != nil {
		log.Warn("list blocks in the bucket", "err", err)
	}
}

// loadSealed reads the sealed windows inside the head's retention back into
// the head from their blocks (its checkpoints leave them out), then waits
// for ctx. It runs while the server already serves: until a window is
// loaded, queries read it from its block (the head's min time only drops
// below a window once all of that window is in memory). A failure is
// logged; those windows stay in the bucket for queries.
func (b *blocks) loadSealed(ctx context.Context, log *slog.Logger) error {
	// In a cluster only this node's own replicas come back: the others hold
	// series it does not own.
	if _, err := block.LoadSealedWith(ctx, b.store, b.head, block.LoadOptions{Node: b.node, Logger: log}); err != nil && ctx.Err() == nil {
		log.Warn("load sealed windows into the head; older data is still read from the blocks", "err", err)
	}
	<-ctx.Done()
	return nil
}

// syncEvery refreshes the store's list of blocks every interval until ctx
// is done, logging failures.
func (b *blocks) syncEvery(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := b.store.Sync(ctx); err != nil && ctx.Err() == nil {
			log.Warn("list blocks in the bucket", "err", err)
		}
	}
}

// stop closes the shipper, the roll-ups, the store and the bucket. The
// loops over them must have returned.
func (b *blocks) stop() error {
	b.shipper.Close()
	if b.rollups != nil {
		b.rollups.Close()
	}
	return errors.Join(b.store.Close(), b.bucket.Close())
}
