package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// openBlocks opens the bucket and the store, and readies the shipper over
// h: it tells the head which windows are sealed before any write arrives.
// It does no network I/O; start begins syncing and shipping.
func (srv *server) openBlocks(h *head.Head) (*blocks, error) {
	var conf []byte
	if path := srv.s.ObjstoreConfigFile; path != "" {
		var err error
		if conf, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read --objstore.config-file: %w", err)
		}
	}
	bkt, err := block.NewBucket(conf, filepath.Join(srv.s.StoragePath, "bucket"), srv.log)
	if err != nil {
		return nil, fmt.Errorf("bucket: %w", err)
	}
	cacheDir := srv.s.BlockCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(srv.s.StoragePath, "block-cache")
	}
	store, err := block.NewStore(block.StoreOptions{
		Bucket: bkt, CacheDir: cacheDir, CacheBytes: srv.s.BlockCacheBytes, Logger: srv.log, Registerer: srv.reg,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("block store: %w", err), bkt.Close())
	}
	shipper, err := block.NewShipper(block.ShipperOptions{
		Source:     h,
		Bucket:     bkt,
		Dir:        filepath.Join(srv.s.StoragePath, "blocks"),
		Interval:   srv.s.BlockShipInterval,
		Retention:  srv.s.StorageRetention,
		Store:      store,
		Logger:     srv.log,
		Registerer: srv.reg,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("block shipper: %w", err), store.Close(), bkt.Close())
	}
	b := &blocks{bucket: bkt, store: store, shipper: shipper}
	if srv.s.Rollups {
		b.rollups, err = block.NewRollups(block.RollupOptions{
			Bucket: bkt, Store: store, Dir: filepath.Join(srv.s.StoragePath, "rollups"),
			RawRetention: srv.s.RawRetention, Interval: srv.s.RollupInterval, Logger: srv.log, Registerer: srv.reg,
		})
		if err != nil {
			shipper.Close()
			return nil, errors.Join(fmt.Errorf("roll-ups: %w", err), store.Close(), bkt.Close())
		}
	}
	return b, nil
}

// start lists the bucket once (a failure is logged: the head still serves
// recent data and writes), loads the sealed windows inside the head's
// retention back into h from their blocks (its checkpoints leave them out),
// and runs the shipper and the periodic listing until stop.
func (b *blocks) start(srv *server, h *head.Head) {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	if err := b.store.Sync(syncCtx); err != nil {
		srv.log.Warn("list blocks in the bucket", "err", err)
	}
	syncCancel()
	if _, err := block.LoadSealed(ctx, b.store, h, srv.log); err != nil {
		srv.log.Warn("load sealed windows into the head; older data is still read from the blocks", "err", err)
	}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		_ = b.shipper.Run(ctx)
	}()
	if b.rollups != nil {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			_ = b.rollups.Run(ctx)
		}()
	}
	go func() {
		defer b.wg.Done()
		tick := time.NewTicker(srv.s.BlockSyncInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := b.store.Sync(ctx); err != nil && ctx.Err() == nil {
				srv.log.Warn("list blocks in the bucket", "err", err)
			}
		}
	}()
}

// stop ends shipping and syncing and closes the store and the bucket.
func (b *blocks) stop() error {
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	b.shipper.Close()
	if b.rollups != nil {
		b.rollups.Close()
	}
	return errors.Join(b.store.Close(), b.bucket.Close())
}
