package block

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// CompactOptions configure a Compactor.
type CompactOptions struct {
	Bucket objstore.Bucket // required
	// Store lists the blocks and opens them (downloading them to its
	// cache). Required; Once syncs it.
	Store *Store
	// Dir is the scratch directory merged blocks are written to before
	// their upload. Required; emptied of blocks by NewCompactor.
	Dir string
	// Owner reports whether this node compacts the window starting at
	// windowStart (in a cluster: whether it owns the window's token). nil
	// compacts every window.
	Owner func(windowStart int64) bool
	// ClosedBefore returns the time before which windows are closed: only
	// a window whose end is at or before it is compacted, so that no
	// replica is still sealing it. Required.
	ClosedBefore func() int64
	// Interval is how often Run calls Once. Default 5m.
	Interval time.Duration
	// Encoding is how merged blocks store their chunks. "" keeps the
	// encoding of the window's replica blocks (the newest encoding among
	// them when they differ, e.g. during a change of the setting).
	Encoding   ChunkEncoding
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Compactor merges the replica blocks of a window into one block. In a
// cluster every replica of a series uploads its own block of each window,
// with NodeLabel naming the node; for every closed window this node owns,
// a pass writes one raw block holding the union of the samples of all the
// window's raw blocks (one sample per timestamp, see MergeReplicas), with
// their external labels minus NodeLabel and their sources, and uploads it
// (meta.json last); the next pass, finding that block holding the sources
// of all the others, deletes them (each meta.json first). Readers merge a
// window's raw blocks too, so queries answer the same before, while and
// after a window is compacted.
//
// A crash at any step is safe: the blocks merged are deleted only once the
// merged block is complete in the bucket and listed by a later pass; a
// pass that finds leftovers (a failed delete) deletes them. A replica
// uploaded late, after its window was compacted, is not among the merged
// block's sources: the window is merged again, the old merged block with
// it. A pass deletes only blocks another block holds the sources of, so
// two nodes compacting one window at once (ownership moving) lose nothing.
type Compactor struct {
	opts    CompactOptions
	log     *slog.Logger
	metrics *compactMetrics

	mu sync.Mutex // one pass at a time
}

// NewCompactor checks opts, removes blocks a crash left in Dir and registers
// the compactor's metrics. It does no network I/O.
func NewCompactor(opts CompactOptions) (*Compactor, error) {
	if opts.Bucket == nil || opts.Store == nil || opts.Dir == "" || opts.ClosedBefore == nil {
		return nil, errors.New("replica compaction needs a bucket, a store, a directory and a closed bound")
	}
	if opts.Owner == nil {
		opts.Owner = func(int64) bool { return true }
	}
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cleanScratch(opts.Dir); err != nil {
		return nil, fmt.Errorf("replica compaction: %w", err)
	}
	m, err := newCompactMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("replica compaction: %w", err)
	}
	return &Compactor{opts: opts, log: opts.Logger, metrics: m}, nil
}

// Close unregisters the compactor's metrics.
func (c *Compactor) Close() { c.metrics.unregister() }

// Run calls Once every Interval until ctx is done; errors are logged.
func (c *Compactor) Run(ctx context.Context) error {
	return runEvery(ctx, c.opts.Interval, c.log, "replica compaction", c.Once)
}

// Once syncs the store and takes one step (merge, or delete what a merged
// block holds) for every window due (see replicaGroups), syncing the store
// again if it changed the bucket. A failure for one
// window is logged and counted and the others go on; Once returns the
// failures joined.
func (c *Compactor) Once(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.metrics.runs.Inc()
	if err := c.opts.Store.Sync(ctx); err != nil {
		c.metrics.failures.Inc()
		return fmt.Errorf("replica compaction: %w", err)
	}
	var errs []error
	changed := false
	for _, g := range replicaGroups(c.opts.Store.AllMetas(), c.opts.ClosedBefore(), c.opts.Owner) {
		did, err := c.compact(ctx, g)
		changed = changed || did
		if err != nil {
			c.metrics.failures.Inc()
			c.log.Warn("compacting replica blocks", "mint", g[0].MinTime, "maxt", g[0].MaxTime, "blocks", len(g), "err", err)
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if changed {
		if err := c.opts.Store.Sync(ctx); err != nil {
			errs = append(errs, fmt.Errorf("replica compaction: %w", err))
		}
	}
	return errors.Join(errs...)
}

// replicaGroups returns the raw blocks to merge, one group per window and
// external labels without NodeLabel, oldest window first: the groups of
// closed windows (end at or before closedBefore) that owner owns, and that
// hold more than one block or a replica block (a cluster with one replica
// still gets blocks without NodeLabel, which roll-ups need). metas may hold
// the same window more than once (AllMetas): all of them are merged.
func replicaGroups(metas []Meta, closedBefore int64, owner func(int64) bool) [][]Meta {
	type key struct {
		mint, maxt int64
		labels     string
	}
	groups := map[key][]Meta{}
	var keys []key
	for _, m := range metas {
		if m.Thanos.Downsample.Resolution != 0 || m.MaxTime > closedBefore {
			continue
		}
		k := key{m.MinTime, m.MaxTime, labelsKey(withoutNode(m.Thanos.Labels))}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], m)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.mint, b.mint), cmp.Compare(a.labels, b.labels)) })
	var out [][]Meta
	for _, k := range keys {
		g := groups[k]
		if (len(g) > 1 || g[0].IsReplica()) && owner(k.mint) {
			out = append(out, sortMetas(g))
		}
	}
	return out
}

// compact does one step for the blocks g of one window: when one merged
// block of g holds the sources of all the others (it was written by an
// earlier pass), the others are deleted; otherwise g is merged into a new
// block, uploaded, and left beside g until the next pass deletes g. The
// deletes so wait one Interval after the merged block appeared, long
// enough for every node's store to list it (--block.sync-interval), so a
// query that listed the replicas does not find them gone. It reports
// whether it changed the bucket.
func (c *Compactor) compact(ctx context.Context, g []Meta) (bool, error) {
	if keep, ok := covering(g); ok {
		return c.deleteMerged(ctx, keep, g)
	}
	began := time.Now()
	mint, maxt := g[0].MinTime, g[0].MaxTime
	lists := make([][]model.ChunkSeries, 0, len(g))
	var sources []ulid.ULID
	for _, m := range g {
		series, err := c.read(ctx, m)
		if err != nil {
			return false, err
		}
		lists = append(lists, series)
		sources = append(sources, m.Compaction.Sources...)
	}
	merged, err := MergeReplicas(lists)
	if err != nil {
		return false, fmt.Errorf("merge window [%d, %d): %w", mint, maxt, err)
	}
	slices.SortFunc(sources, func(a, b ulid.ULID) int { return a.Compare(b) })
	meta, err := Write(ctx, c.opts.Dir, mint, maxt, merged, WriteOptions{
		Labels: withoutNode(g[0].Thanos.Labels), Sources: slices.Compact(sources),
		Encoding: c.mergedEncoding(g),
	})
	if err != nil {
		return false, fmt.Errorf("merge window [%d, %d): %w", mint, maxt, err)
	}
	dir := filepath.Join(c.opts.Dir, meta.ULID.String())
	defer os.RemoveAll(dir)
	if err := Upload(ctx, c.opts.Bucket, dir); err != nil {
		return false, fmt.Errorf("merge window [%d, %d): %w", mint, maxt, err)
	}
	c.metrics.merged.Inc()
	c.log.Info("merged replica blocks", "ulid", meta.ULID, "mint", mint, "maxt", maxt, "blocks", len(g),
		"series", meta.Stats.NumSeries, "samples", meta.Stats.NumSamples, "duration", time.Since(began))
	return true, nil
}

// covering returns the first block of g without NodeLabel whose sources
// include the sources of every other block of g.
func covering(g []Meta) (Meta, bool) {
	for _, m := range g {
		if m.IsReplica() {
			continue
		}
		has := map[ulid.ULID]bool{}
		for _, id := range m.Compaction.Sources {
			has[id] = true
		}
		all := true
		for _, o := range g {
			for _, id := range o.Compaction.Sources {
				all = all && (o.ULID == m.ULID || has[id])
			}
		}
		if all {
			return m, true
		}
	}
	return Meta{}, false
}

// deleteMerged deletes the blocks of g but keep, which holds their
// samples. A failure leaves duplicates that readers merge and the next
// pass deletes.
func (c *Compactor) deleteMerged(ctx context.Context, keep Meta, g []Meta) (bool, error) {
	changed := false
	for _, m := range g {
		if m.ULID == keep.ULID {
			continue
		}
		if err := Delete(ctx, c.opts.Bucket, m.ULID); err != nil {
			return changed, fmt.Errorf("delete block %s merged into %s: %w", m.ULID, keep.ULID, err)
		}
		changed = true
		c.metrics.deleted.Inc()
		c.log.Info("deleted merged replica block", "ulid", m.ULID, "merged_into", keep.ULID, "mint", m.MinTime, "maxt", m.MaxTime)
	}
	return changed, nil
}

// read returns every series of block m.
func (c *Compactor) read(ctx context.Context, m Meta) ([]model.ChunkSeries, error) {
	b, release, err := c.opts.Store.Open(ctx, m.ULID)
	if err != nil {
		return nil, fmt.Errorf("open block %s: %w", m.ULID, err)
	}
	defer release()
	series, err := b.Select(ctx, m.MinTime, m.MaxTime-1)
	if err != nil {
		return nil, fmt.Errorf("read block %s: %w", m.ULID, err)
	}
	return series, nil
}

// mergedEncoding is the encoding of the block merged from the replica
// blocks g: the configured one, else that of the newest block of g.
func (c *Compactor) mergedEncoding(g []Meta) ChunkEncoding {
	if c.opts.Encoding != "" {
		return c.opts.Encoding
	}
	newest := g[0]
	for _, m := range g[1:] {
		if m.ULID.Compare(newest.ULID) > 0 {
			newest = m
		}
	}
	return newest.ChunkEncoding()
}
