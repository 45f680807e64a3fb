package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/ring"
)

// compactionLoop returns the storage loop of a stack in a cluster that
// merges the replica blocks of the closed windows owner owns (owner gets
// the stack's tenant and a window's start in ms) into one block per
// window (block.Compactor, docs/format/block.md). Its scratch directory
// is <stack dir>/compaction; its metrics (gorilla_compaction_*) go to the
// stack's registerer and are unregistered when the loop ends. It runs
// every five minutes, the compactor's default.
func (srv *server) compactionLoop(owner func(tenant string, windowStart int64) bool) storageLoop {
	return storageLoop{what: "replica compaction", run: func(ctx context.Context, b *blocks) error {
		c, err := block.NewCompactor(block.CompactOptions{
			Bucket: b.bucket,
			Store:  b.store,
			Dir:    filepath.Join(b.env.dir, "compaction"),
			Owner:  func(start int64) bool { return owner(b.env.id, start) },
			ClosedBefore: func() int64 {
				return compactionClosedBefore(time.Now(), srv.s.OutOfOrderWindow, srv.s.MaintenanceInterval, srv.s.BlockShipInterval)
			},
			Encoding:   block.ChunkEncoding(srv.s.ChunkEncoding),
			Logger:     srv.log,
			Registerer: b.env.reg,
		})
		if err != nil {
			return fmt.Errorf("replica compaction: %w", err)
		}
		defer c.Close()
		return c.Run(ctx)
	}}
}

// ownsWindow reports whether this node compacts the window starting at
// start (ms) of tenant: the first healthy replica of the window's token.
// Nodes agree once gossip has converged; should two compact one window
// at once, the next pass merges their two blocks.
func (c *cluster) ownsWindow(tenant string, start int64) bool {
	if c == nil {
		return false
	}
	owners, err := c.node.Owners(ring.Token(tenant, labels.FromStrings(windowLabel, strconv.FormatInt(start, 10))), 1)
	return err == nil && len(owners) > 0 && owners[0].ID == c.node.Self().ID
}

// windowLabel names the window start in the token of a window's
// compaction; no series carries it.
const windowLabel = "__window_start__"

// compactionClosedBefore is the bound of the windows the replica compaction
// may merge at now: a window is closed for every replica once its end plus
// the out-of-order window has passed (no replica takes samples for it any
// more), plus one maintenance interval and one ship interval (a replica
// seals and uploads the window on its shipper's next pass). A replica
// later than that is merged by a later pass.
func compactionClosedBefore(now time.Time, outOfOrder, maintenance, ship time.Duration) int64 {
	return now.Add(-max(outOfOrder, 0) - max(maintenance, 0) - max(ship, 0)).UnixMilli()
}
