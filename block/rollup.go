package block

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// RollupOptions configure a Rollups job.
type RollupOptions struct {
	Bucket objstore.Bucket // required
	// Store lists the raw and roll-up blocks and opens raw blocks
	// (downloading them to its cache). Required; Once syncs it.
	Store *Store
	// Dir is the scratch directory roll-up blocks are written to before
	// their upload. Required; emptied of blocks by NewRollups.
	Dir string
	// Resolutions are the roll-up resolutions in ms, each > 0. A window
	// gets a roll-up at each resolution that divides its length, and none
	// at the others (their intervals would straddle two windows). Default
	// {Resolution5m, Resolution1h}.
	Resolutions []int64
	// RawRetention: raw blocks whose end is older than now-RawRetention are
	// deleted from the bucket once roll-ups at every resolution exist for
	// their window. 0 keeps raw blocks.
	RawRetention time.Duration
	// Interval is how often Run calls Once. Default 5m.
	Interval time.Duration
	// Now is the clock for RawRetention; time.Now when nil.
	Now func() time.Time
	// Encoding is how roll-up blocks store their chunks; "" is
	// EncodingXOR. The raw blocks rolled up may use any encoding.
	Encoding   ChunkEncoding
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Rollups is the job that rolls raw blocks up into downsampled blocks
// (docs/rollups.md) and applies the raw retention. Each roll-up block covers
// the same window, with the same external labels, as its raw block, and
// holds what Downsample makes of the raw block's series.
type Rollups struct {
	opts    RollupOptions
	log     *slog.Logger
	metrics *rollupMetrics

	mu sync.Mutex // one pass at a time
}

// windowKey identifies the window of a block: its time range and external
// labels. A raw block and its roll-ups share it.
type windowKey struct {
	mint, maxt int64
	labels     string
}

func keyOf(m Meta) windowKey { return windowKey{m.MinTime, m.MaxTime, labelsKey(m.Thanos.Labels)} }

// NewRollups checks opts, removes blocks a crash left in Dir and registers
// the job's metrics. It does no network I/O.
func NewRollups(opts RollupOptions) (*Rollups, error) {
	if opts.Bucket == nil || opts.Store == nil || opts.Dir == "" {
		return nil, errors.New("roll-ups need a bucket, a store and a directory")
	}
	if len(opts.Resolutions) == 0 {
		opts.Resolutions = []int64{Resolution5m, Resolution1h}
	}
	opts.Resolutions = slices.Clone(opts.Resolutions)
	slices.Sort(opts.Resolutions)
	opts.Resolutions = slices.Compact(opts.Resolutions)
	if opts.Resolutions[0] <= 0 {
		return nil, fmt.Errorf("roll-ups: resolution %d ms, want > 0", opts.Resolutions[0])
	}
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cleanScratch(opts.Dir); err != nil {
		return nil, fmt.Errorf("roll-ups: %w", err)
	}
	m, err := newRollupMetrics(opts.Registerer, opts.Resolutions)
	if err != nil {
		return nil, fmt.Errorf("roll-ups: %w", err)
	}
	return &Rollups{opts: opts, log: opts.Logger, metrics: m}, nil
}

// cleanScratch creates dir and removes the block directories, complete or
// not, an earlier run left there: a roll-up is uploaded by the pass that
// wrote it or written again.
func cleanScratch(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create scratch directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list scratch directory: %w", err)
	}
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), tmpSuffix)
		if _, err := ulid.ParseStrict(name); err != nil || !e.IsDir() {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove left-over block: %w", err)
		}
	}
	return nil
}

// Close unregisters the job's metrics.
func (r *Rollups) Close() { r.metrics.unregister() }

// Run calls Once every Interval until ctx is done; errors are logged.
func (r *Rollups) Run(ctx context.Context) error {
	return runEvery(ctx, r.opts.Interval, r.log, "block roll-ups", r.Once)
}

// Once syncs the store, rolls up every raw block that lacks a roll-up at one
// of the resolutions its window gets (same MinTime, MaxTime and external
// labels; resolutionsFor) and is the only raw block of its window, without
// NodeLabel (see singleRaw), syncs the
// store again if it uploaded any, and then applies RawRetention. A failure
// for one block is logged and counted and the others go on; Once returns
// the failures joined.
func (r *Rollups) Once(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.opts.Store.Sync(ctx); err != nil {
		return fmt.Errorf("roll-ups: %w", err)
	}
	have := rolledUp(r.opts.Store.AllMetas())
	metas := r.opts.Store.Metas(math.MinInt64, math.MaxInt64)
	single := singleRaw(metas)
	var errs []error
	created := 0
	for _, m := range metas {
		if m.Thanos.Downsample.Resolution != 0 || !single[[2]int64{m.MinTime, m.MaxTime}] || m.IsReplica() {
			continue
		}
		var missing []int64
		for _, res := range r.resolutionsFor(m) {
			if !have[keyOf(m)][res] {
				missing = append(missing, res)
			}
		}
		if len(missing) == 0 {
			continue
		}
		n, err := r.rollupBlock(ctx, m, missing)
		created += n
		if err != nil {
			r.log.Warn("rolling up block", "ulid", m.ULID, "mint", m.MinTime, "maxt", m.MaxTime, "err", err)
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if created > 0 {
		if err := r.opts.Store.Sync(ctx); err != nil {
			errs = append(errs, fmt.Errorf("roll-ups: %w", err))
		}
	}
	return errors.Join(append(errs, r.applyRawRetention(ctx))...)
}

// singleRaw returns the time ranges of the windows that hold exactly one
// raw block. Only those are rolled up: a window of replica blocks (a
// cluster, NodeLabel set) is rolled up once, from the block the replica
// compaction merges them into, not once per replica.
func singleRaw(metas []Meta) map[[2]int64]bool {
	n := map[[2]int64]int{}
	for _, m := range metas {
		if m.Thanos.Downsample.Resolution == 0 {
			n[[2]int64{m.MinTime, m.MaxTime}]++
		}
	}
	out := make(map[[2]int64]bool, len(n))
	for k, c := range n {
		out[k] = c == 1
	}
	return out
}

// rolledUp returns, for each window, the resolutions it has roll-ups for.
func rolledUp(metas []Meta) map[windowKey]map[int64]bool {
	have := map[windowKey]map[int64]bool{}
	for _, m := range metas {
		res := m.Thanos.Downsample.Resolution
		if res == 0 {
			continue
		}
		k := keyOf(m)
		if have[k] == nil {
			have[k] = map[int64]bool{}
		}
		have[k][res] = true
	}
	return have
}

// rollupBlock reads raw block m through the store and uploads its roll-up
// at each resolution of missing. It returns how many it uploaded.
func (r *Rollups) rollupBlock(ctx context.Context, m Meta, missing []int64) (int, error) {
	b, release, err := r.opts.Store.Open(ctx, m.ULID)
	if err != nil {
		r.metrics.failures.Add(float64(len(missing)))
		return 0, fmt.Errorf("roll up block %s: %w", m.ULID, err)
	}
	series, err := b.Select(ctx, m.MinTime, m.MaxTime-1)
	release()
	if err != nil {
		r.metrics.failures.Add(float64(len(missing)))
		return 0, fmt.Errorf("roll up block %s: %w", m.ULID, err)
	}
	var errs []error
	created := 0
	for _, res := range missing {
		began := time.Now()
		rm, err := r.writeRollup(ctx, m, series, res)
		if err != nil {
			r.metrics.failures.Inc()
			errs = append(errs, fmt.Errorf("roll up block %s to %s: %w", m.ULID, resolutionName(res), err))
			continue
		}
		created++
		r.metrics.blocks.WithLabelValues(resolutionName(res)).Inc()
		r.log.Info("uploaded roll-up block", "ulid", rm.ULID, "raw", m.ULID, "resolution", resolutionName(res),
			"mint", m.MinTime, "maxt", m.MaxTime, "series", rm.Stats.NumSeries, "samples", rm.Stats.NumSamples,
			"duration", time.Since(began))
	}
	return created, errors.Join(errs...)
}

// writeRollup downsamples series to res, writes the block into Dir, uploads
// it and removes the local copy. A failed upload is deleted from the
// bucket, so that no incomplete block lingers.
func (r *Rollups) writeRollup(ctx context.Context, raw Meta, series []model.ChunkSeries, res int64) (Meta, error) {
	out, err := Downsample(series, res)
	if err != nil {
		return Meta{}, err
	}
	m, err := Write(ctx, r.opts.Dir, raw.MinTime, raw.MaxTime, out, WriteOptions{Resolution: res, Labels: raw.Thanos.Labels, Encoding: r.opts.Encoding})
	if err != nil {
		return Meta{}, err
	}
	dir := filepath.Join(r.opts.Dir, m.ULID.String())
	defer os.RemoveAll(dir)
	if err := Upload(ctx, r.opts.Bucket, dir); err != nil {
		if derr := Delete(context.WithoutCancel(ctx), r.opts.Bucket, m.ULID); derr != nil {
			r.log.Warn("removing a failed roll-up upload", "ulid", m.ULID, "err", derr)
		}
		return Meta{}, err
	}
	return m, nil
}

// applyRawRetention deletes the raw blocks that ended before now minus
// RawRetention and whose window has roll-ups at every resolution.
func (r *Rollups) applyRawRetention(ctx context.Context) error {
	if r.opts.RawRetention <= 0 {
		return nil
	}
	before := r.opts.Now().Add(-r.opts.RawRetention).UnixMilli()
	metas := r.opts.Store.AllMetas()
	have := rolledUp(metas)
	var errs []error
	deleted := 0
	for _, m := range metas {
		if m.Thanos.Downsample.Resolution != 0 || m.MaxTime > before {
			continue
		}
		if !r.complete(m, have[keyOf(m)]) {
			continue
		}
		if err := Delete(ctx, r.opts.Bucket, m.ULID); err != nil {
			errs = append(errs, fmt.Errorf("delete raw block %s: %w", m.ULID, err))
			continue
		}
		deleted++
		r.metrics.rawDeleted.Inc()
		r.log.Info("deleted raw block past raw retention", "ulid", m.ULID, "mint", m.MinTime, "maxt", m.MaxTime,
			"raw_retention", r.opts.RawRetention)
	}
	if deleted > 0 {
		errs = append(errs, r.opts.Store.Sync(ctx))
	}
	return errors.Join(errs...)
}

// resolutionsFor returns the configured resolutions that divide the
// window of m, the ones it gets roll-ups at. A 10m window gets 5m roll-ups
// and no 1h ones.
func (r *Rollups) resolutionsFor(m Meta) []int64 {
	length := m.MaxTime - m.MinTime
	var out []int64
	for _, res := range r.opts.Resolutions {
		if length%res == 0 {
			out = append(out, res)
		}
	}
	return out
}

// complete reports whether have holds every resolution the window of raw
// block m gets (resolutionsFor). A window that gets none is never
// complete: its raw block is all there is of its data.
func (r *Rollups) complete(m Meta, have map[int64]bool) bool {
	want := r.resolutionsFor(m)
	if len(want) == 0 {
		return false
	}
	for _, res := range want {
		if !have[res] {
			return false
		}
	}
	return true
}
