package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gorilla-remote/gorilla-remote/block"
)

// compactionLoop returns the storage loop of a stack in a cluster that
// merges the replica blocks of the closed windows owner owns (owner gets a
// window's start in ms; in a cluster, whether this node owns the window's
// token) into one block per window (block.Compactor, docs/format/block.md).
// Its scratch directory is <env.dir>/compaction; its metrics
// (gorilla_compaction_*) go to env.reg and are unregistered when the loop
// ends. It runs every five minutes, the compactor's default.
func (srv *server) compactionLoop(env stackEnv, owner func(windowStart int64) bool) storageLoop {
	return storageLoop{what: "replica compaction", run: func(ctx context.Context, b *blocks) error {
		c, err := block.NewCompactor(block.CompactOptions{
			Bucket: b.bucket,
			Store:  b.store,
			Dir:    filepath.Join(env.dir, "compaction"),
			Owner:  owner,
			ClosedBefore: func() int64 {
				return compactionClosedBefore(time.Now(), srv.s.OutOfOrderWindow, srv.s.MaintenanceInterval, srv.s.BlockShipInterval)
			},
			Logger:     srv.log,
			Registerer: env.reg,
		})
		if err != nil {
			return fmt.Errorf("replica compaction: %w", err)
		}
		defer c.Close()
		return c.Run(ctx)
	}}
}

// compactionClosedBefore is the bound of the windows the replica compaction
// may merge at now: a window is closed for every replica once its end plus
// the out-of-order window has passed (no replica takes samples for it any
// more), plus one maintenance interval and one ship interval (a replica
// seals and uploads the window on its shipper's next pass). A replica
// later than that is merged by a later pass.
func compactionClosedBefore(now time.Time, outOfOrder, maintenance, ship time.Duration) int64 {
	return now.Add(-max(outOfOrder, 0) - max(maintenance, 0) - max(ship, 0)).UnixMilli()
}
