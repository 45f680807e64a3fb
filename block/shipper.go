package block

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Source is what the shipper needs of the in-memory head (head.Head
// implements it; see head/shipping.go for each method's contract). The
// windows are the head's: the shipper has none of its own, so it seals
// exactly the windows the head closes. The shipper only reports what it
// sealed (SealBefore) and what is uploaded (SetShipped); when to checkpoint
// the WAL is the head's decision.
type Source interface {
	Windows() model.Windows
	MinTime() int64
	MaxTime() int64
	WindowSeries(ctx context.Context, mint, maxt int64) ([]model.ChunkSeries, error)
	SealBefore(t int64)
	SetShipped(t int64)
}

// ShipperOptions configure a Shipper.
type ShipperOptions struct {
	Source Source          // required
	Bucket objstore.Bucket // required
	// Dir holds sealed blocks until they are uploaded, and the shipper's
	// state (shipper.json). Required.
	Dir string
	// Interval is how often due windows and pending uploads are looked at.
	// Default 30s.
	Interval time.Duration
	// MaxBackoff bounds the wait between failed upload attempts, which
	// doubles from Interval. Default 5m.
	MaxBackoff time.Duration
	// Retention deletes blocks from the bucket once their end is older than
	// this (by the clock). Zero keeps them forever.
	Retention time.Duration
	// Store, if set, is synced after every upload, so queries see the new
	// block, and gives the bucket's blocks to retention.
	Store *Store
	// Now is the clock for retention; time.Now when nil.
	Now func() time.Time
	// ExternalLabels are written into the thanos.labels of every block the
	// shipper seals. In a cluster they hold NodeLabel = the node's name, so
	// that the replica blocks of one window stay apart (see Store.Metas)
	// until CompactReplicas merges them. nil writes no labels.
	ExternalLabels map[string]string
	// Encoding is how the blocks it writes store their chunks; "" is
	// EncodingXOR.
	Encoding   ChunkEncoding
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Shipper seals closed windows of the head into blocks on local disk and
// uploads them. A window is closed when the head's windows say so
// (model.Windows.ClosedBefore of the head's newest sample). For each
// window, in order:
//
//  1. the head refuses samples for it from then on (SealBefore);
//  2. its chunks are written, as stored, into Dir/<ULID>/;
//  3. Dir/shipper.json records the window as sealed;
//  4. the block is uploaded, meta.json last, retried with backoff until it
//     succeeds; the local copy is then deleted;
//  5. the head is told the window is uploaded (SetShipped): it may release
//     the data from memory past its retention, and its checkpoints leave
//     the window out.
//
// A crash at any step leaves either the head's WAL or a local block holding
// the window; on start the shipper uploads what is pending and seals again
// what has no block yet.
type Shipper struct {
	opts    ShipperOptions
	log     *slog.Logger
	metrics *shipperMetrics

	mu           sync.Mutex // one pass at a time
	sealedBefore int64      // guarded by mu; windows before it are sealed
	failures     int        // guarded by mu; consecutive failed upload passes
	retryAt      time.Time  // guarded by mu; no upload attempt before it
}

// shipperState is Dir/shipper.json.
type shipperState struct {
	// SealedBefore is the end of the newest sealed window, in ms.
	SealedBefore int64 `json:"sealedBefore"`
}

const stateFile = "shipper.json"

// NewShipper reads the shipper's state, removes half-written blocks and
// tells the head which windows are sealed and what is uploaded. It does no
// network I/O.
func NewShipper(opts ShipperOptions) (*Shipper, error) {
	if opts.Source == nil || opts.Bucket == nil || opts.Dir == "" {
		return nil, errors.New("block shipper needs a source, a bucket and a directory")
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.ExternalLabels = maps.Clone(opts.ExternalLabels)
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create block directory: %w", err)
	}
	s := &Shipper{opts: opts, log: opts.Logger, sealedBefore: math.MinInt64}
	if err := s.loadState(); err != nil {
		return nil, err
	}
	pending, err := s.pending()
	if err != nil {
		return nil, err
	}
	for _, m := range pending {
		// A block written before a crash that lost the state update.
		s.sealedBefore = max(s.sealedBefore, m.MaxTime)
	}
	if s.metrics, err = newShipperMetrics(opts.Registerer, len(pending)); err != nil {
		return nil, fmt.Errorf("block shipper: %w", err)
	}
	if s.sealedBefore != math.MinInt64 {
		opts.Source.SealBefore(s.sealedBefore)
	}
	s.reportShipped(pending)
	return s, nil
}

// Close unregisters the shipper's metrics.
func (s *Shipper) Close() { s.metrics.unregister() }

// Run seals and uploads every Interval until ctx is done.
func (s *Shipper) Run(ctx context.Context) error {
	return runEvery(ctx, s.opts.Interval, s.log, "block shipper", s.Once)
}

// Once seals every due window, uploads what is pending (unless backing off
// after a failure), and applies the bucket retention.
func (s *Shipper) Once(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.sealDue(ctx); err != nil {
		return err
	}
	var uploadErr error
	if !s.opts.Now().Before(s.retryAt) {
		uploadErr = s.uploadPending(ctx)
	}
	return errors.Join(uploadErr, s.applyRetention(ctx))
}

// sealDue seals every closed window from the oldest not yet sealed: one
// snapshot of the head for all of them, then a block for each window that
// holds data (a head with a stray sample decades old seals two blocks, not
// every empty window in between).
//
// The source's times are clamped to the accepted range (model.MinTime,
// model.MaxTime) before any window arithmetic: the head keeps them there,
// and a source that strays cannot make a bound wrap around and stop
// sealing.
func (s *Shipper) sealDue(ctx context.Context) error {
	return s.sealUntil(ctx, s.opts.Source.Windows().ClosedBefore)
}

// sealUntil seals the windows from the oldest not yet sealed up to
// endOf(the head's max time), a window boundary; see sealDue.
func (s *Shipper) sealUntil(ctx context.Context, endOf func(maxT int64) int64) error {
	src := s.opts.Source
	wins := src.Windows()
	maxT, minT := src.MaxTime(), src.MinTime()
	if maxT == math.MinInt64 || minT == math.MaxInt64 {
		return nil
	}
	start := max(s.sealedBefore, wins.Start(minT))
	end := endOf(maxT)
	if start >= end {
		return nil
	}
	src.SealBefore(end)
	series, err := src.WindowSeries(ctx, start, end-1)
	if err != nil {
		return fmt.Errorf("seal windows [%d, %d): %w", start, end, err)
	}
	bd := wins.Block()
	for _, w := range byWindow(series, wins) {
		if err := s.seal(ctx, w.start, w.start+bd, w.series); err != nil {
			return fmt.Errorf("seal window [%d, %d): %w", w.start, w.start+bd, err)
		}
	}
	if err := s.saveState(end); err != nil {
		return err
	}
	s.sealedBefore = end
	return nil
}

// windowSeries are the series of one window.
type windowSeries struct {
	start  int64
	series []model.ChunkSeries
}

// byWindow splits series (sorted by labels) by the window of their chunks,
// float and histogram ones, which never cross a window boundary; each
// window's list stays sorted.
func byWindow(series []model.ChunkSeries, wins model.Windows) []windowSeries {
	index := map[int64]int{}
	var out []windowSeries
	for _, s := range series {
		for i := 0; i < len(s.Chunks); {
			w := wins.Start(s.Chunks[i].MinT)
			j := i + 1
			for j < len(s.Chunks) && wins.Start(s.Chunks[j].MinT) == w {
				j++
			}
			k, ok := index[w]
			if !ok {
				k = len(out)
				index[w] = k
				out = append(out, windowSeries{start: w})
			}
			out[k].series = append(out[k].series, model.ChunkSeries{Labels: s.Labels, Chunks: s.Chunks[i:j]})
			i = j
		}
		for i := 0; i < len(s.Histograms); {
			w := wins.Start(s.Histograms[i].MinT)
			j := i + 1
			for j < len(s.Histograms) && wins.Start(s.Histograms[j].MinT) == w {
				j++
			}
			k, ok := index[w]
			if !ok {
				k = len(out)
				index[w] = k
				out = append(out, windowSeries{start: w})
			}
			// The series' float chunks of the window, if any, are its last
			// entry there: series come in label order.
			ws := out[k].series
			if n := len(ws); n > 0 && labels.Equal(ws[n-1].Labels, s.Labels) {
				ws[n-1].Histograms = s.Histograms[i:j]
			} else {
				out[k].series = append(ws, model.ChunkSeries{Labels: s.Labels, Histograms: s.Histograms[i:j]})
			}
			i = j
		}
	}
	slices.SortFunc(out, func(a, b windowSeries) int { return cmp.Compare(a.start, b.start) })
	return out
}

// seal writes the block of one window, to be uploaded.
func (s *Shipper) seal(ctx context.Context, mint, maxt int64, series []model.ChunkSeries) error {
	began := time.Now()
	meta, err := Write(ctx, s.opts.Dir, mint, maxt, series, WriteOptions{Labels: s.opts.ExternalLabels, Encoding: s.opts.Encoding})
	if err != nil {
		return err
	}
	s.metrics.pending.Inc()
	s.metrics.sealed.Inc()
	s.log.Info("sealed block", "ulid", meta.ULID, "mint", mint, "maxt", maxt,
		"series", meta.Stats.NumSeries, "samples", meta.Stats.NumSamples, "duration", time.Since(began))
	return nil
}

// uploadPending uploads the local blocks oldest first and deletes each
// once it is in the bucket. It stops at the first failure and backs off.
func (s *Shipper) uploadPending(ctx context.Context) error {
	pending, err := s.pending()
	if err != nil {
		return err
	}
	uploaded := 0
	for i, m := range pending {
		dir := filepath.Join(s.opts.Dir, m.ULID.String())
		began := time.Now()
		if err := Upload(ctx, s.opts.Bucket, dir); err != nil {
			s.metrics.uploads.WithLabelValues("error").Inc()
			s.failures++
			wait := min(s.opts.Interval<<min(s.failures, 16), s.opts.MaxBackoff)
			s.retryAt = s.opts.Now().Add(wait)
			s.reportShipped(pending[i:])
			return fmt.Errorf("upload block %s (%d pending, retry in %v): %w", m.ULID, len(pending)-i, wait, err)
		}
		s.metrics.uploads.WithLabelValues("success").Inc()
		s.metrics.uploadSeconds.Observe(time.Since(began).Seconds())
		s.log.Info("uploaded block", "ulid", m.ULID, "mint", m.MinTime, "maxt", m.MaxTime, "duration", time.Since(began))
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove uploaded block %s: %w", m.ULID, err)
		}
		s.metrics.pending.Dec()
		uploaded++
	}
	s.failures, s.retryAt = 0, time.Time{}
	if uploaded > 0 && s.opts.Store != nil {
		// Queries see the new blocks before the head may release them.
		if err := s.opts.Store.Sync(ctx); err != nil {
			s.log.Warn("list bucket after upload", "err", err)
		}
	}
	s.reportShipped(nil)
	return nil
}

// reportShipped tells the head what is in the bucket: everything before
// the oldest pending block, or before the sealed bound when none is
// pending.
func (s *Shipper) reportShipped(pending []Meta) {
	src := s.opts.Source
	if len(pending) > 0 {
		src.SetShipped(pending[0].MinTime)
		return
	}
	if s.sealedBefore != math.MinInt64 {
		src.SetShipped(s.sealedBefore)
	}
}

// pending lists the complete local blocks, oldest first, and removes the
// directories a crash left half-written.
func (s *Shipper) pending() ([]Meta, error) {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("list local blocks: %w", err)
	}
	var out []Meta
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(s.opts.Dir, e.Name())
		if _, err := ulid.ParseStrict(e.Name()); err != nil {
			if strings.HasSuffix(e.Name(), ".tmp") {
				s.log.Warn("removing half-written block", "dir", dir)
				if err := os.RemoveAll(dir); err != nil {
					return nil, fmt.Errorf("remove half-written block: %w", err)
				}
			}
			continue
		}
		m, err := ReadMeta(dir)
		if err != nil {
			return nil, fmt.Errorf("local block %s: %w", e.Name(), err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Meta) int { return cmp.Compare(a.MinTime, b.MinTime) })
	return out, nil
}

// applyRetention deletes the bucket's blocks that ended before now minus
// Retention.
func (s *Shipper) applyRetention(ctx context.Context) error {
	if s.opts.Retention <= 0 || s.opts.Store == nil {
		return nil
	}
	before := s.opts.Now().Add(-s.opts.Retention).UnixMilli()
	var errs []error
	deleted := 0
	for _, m := range s.opts.Store.AllMetas() {
		if m.MaxTime > before {
			continue
		}
		if err := Delete(ctx, s.opts.Bucket, m.ULID); err != nil {
			errs = append(errs, fmt.Errorf("delete block %s: %w", m.ULID, err))
			continue
		}
		deleted++
		s.metrics.deleted.Inc()
		s.log.Info("deleted block past retention", "ulid", m.ULID, "mint", m.MinTime, "maxt", m.MaxTime, "retention", s.opts.Retention)
	}
	if deleted > 0 {
		errs = append(errs, s.opts.Store.Sync(ctx))
	}
	return errors.Join(errs...)
}

func (s *Shipper) loadState() error {
	b, err := os.ReadFile(filepath.Join(s.opts.Dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read shipper state: %w", err)
	}
	var st shipperState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("parse %s: %w", filepath.Join(s.opts.Dir, stateFile), err)
	}
	s.sealedBefore = st.SealedBefore
	return nil
}

// saveState replaces shipper.json atomically and durably.
func (s *Shipper) saveState(sealedBefore int64) error {
	b, err := json.Marshal(shipperState{SealedBefore: sealedBefore})
	if err != nil {
		return err
	}
	path := filepath.Join(s.opts.Dir, stateFile)
	if err := writeFileSync(path+".tmp", b); err != nil {
		return fmt.Errorf("write shipper state: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("replace shipper state: %w", err)
	}
	return syncPath(s.opts.Dir)
}
