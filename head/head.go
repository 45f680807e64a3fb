package head

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// Head is the in-memory store: striped series of Gorilla chunks, an inverted
// index, and the WAL that makes every committed sample durable. It is safe
// for concurrent use.
type Head struct {
	opts    Options
	win     model.Windows
	appOpts appendOpts // minValidTime is read from minValidTime instead
	wal     *wal.WAL
	syms    *symbols
	series  *stripeSet
	index   *postings
	metrics *metrics
	// replayed is the first and last WAL segment Open replayed, -1 for
	// none; set before the head is shared, read-only after.
	replayed [2]int

	nextRef       atomic.Uint64
	appenderIDs   atomic.Uint32 // hands out Appender.id
	maxTime       atomic.Int64  // newest in-order timestamp in the head
	minTime       atomic.Int64  // the head holds every sample it took from here on; see MinTime
	minValidTime  atomic.Int64  // samples older than this were released or are refused
	sealedBefore  atomic.Int64  // samples older than this are in a sealed block: refused
	shippedBefore atomic.Int64  // samples older than this are uploaded: retention may release them

	// commitMu is held shared by every commit from its WAL write until its
	// samples are in memory, and exclusively while a checkpoint cuts the WAL:
	// so a checkpoint's snapshot holds everything logged before the cut.
	commitMu sync.RWMutex

	bufPool sync.Pool // of *appendBufs

	metaMu sync.RWMutex
	meta   map[string]model.Metadata // guarded by metaMu

	checkpointMu     sync.Mutex // one checkpoint at a time
	checkpointWindow int64      // guarded by checkpointMu; newest window closed at the last checkpoint
	walAtCheckpoint  int64      // guarded by checkpointMu; WAL record bytes (uncompressed) logged at the last checkpoint
	shippedAtCkpt    int64      // guarded by checkpointMu; uploaded bound the last checkpoint left out

	// ctx is cancelled by Close: it stops the background checkpoints.
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	closing   chan struct{}
	loopDone  chan struct{}
	walDone   chan struct{} // closed when watchWAL has returned
	closed    atomic.Bool
}

// Open opens the head in opts.Dir, replays its checkpoint and WAL, and starts
// the background maintenance loop. It returns once the head holds everything
// that was committed before the last shutdown or crash.
func Open(opts Options) (*Head, error) {
	opts, win, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Head{
		opts:     opts,
		replayed: [2]int{-1, -1},
		win:      win,
		appOpts: appendOpts{
			win:          win,
			oooWindow:    win.OutOfOrder(),
			oooCompactAt: oooCompactAt,
		},
		syms:     newSymbols(),
		series:   newStripeSet(opts.Stripes),
		index:    newPostings(),
		meta:     map[string]model.Metadata{},
		closing:  make(chan struct{}),
		loopDone: make(chan struct{}),
		walDone:  make(chan struct{}),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.bufPool.New = func() any { return &appendBufs{} }
	h.maxTime.Store(math.MinInt64)
	h.minTime.Store(math.MaxInt64)
	h.minValidTime.Store(math.MinInt64)
	h.sealedBefore.Store(math.MinInt64)
	h.shippedBefore.Store(math.MaxInt64)
	if opts.Shipping {
		h.shippedBefore.Store(math.MinInt64)
	}
	h.checkpointWindow = math.MinInt64
	h.shippedAtCkpt = math.MinInt64
	if h.metrics, err = newMetrics(h, opts.Registerer); err != nil {
		return nil, err
	}
	if opts.WAL.ObserveFsync == nil {
		opts.WAL.ObserveFsync = h.metrics.observeFsync
	}

	dir := filepath.Join(opts.Dir, "wal")
	h.wal, err = wal.Open(dir, opts.WAL)
	if err != nil {
		h.metrics.unregister()
		return nil, fmt.Errorf("open WAL: %w", err)
	}
	if err := h.replay(dir); err != nil {
		h.metrics.unregister()
		return nil, errors.Join(fmt.Errorf("replay WAL: %w", err), h.wal.Close())
	}
	if err := h.metrics.registerWAL(h.wal); err != nil {
		h.metrics.unregister()
		return nil, errors.Join(err, h.wal.Close())
	}
	go h.watchWAL()
	if mt := h.maxTime.Load(); mt != math.MinInt64 {
		h.checkpointWindow = h.closedWindow(mt)
		h.Truncate(h.releaseBound(mt))
	}
	if opts.MaintenanceInterval > 0 {
		go h.maintain(opts.MaintenanceInterval)
	} else {
		close(h.loopDone)
	}
	return h, nil
}

// Close stops background work (maintenance, WAL recovery) and closes the
// WAL (flushing and syncing it).
// Commits after Close fail with model.ErrClosed. Close is idempotent.
func (h *Head) Close() error {
	var err error
	h.closeOnce.Do(func() {
		h.cancel()
		close(h.closing)
		<-h.loopDone
		<-h.walDone
		h.commitMu.Lock()
		h.closed.Store(true)
		h.commitMu.Unlock()
		h.checkpointMu.Lock()
		err = h.wal.Close()
		h.checkpointMu.Unlock()
		h.metrics.unregister()
	})
	return err
}

// getOrCreate returns the series with lset, creating it when new without
// asking the limiter (the series must exist: it is loaded, or holds samples
// already accepted).
// A series it creates is marked as created by batch creator (see
// memSeries.createdBy; 0 for none).
func (h *Head) getOrCreate(hash uint64, lset labels.Labels, creator uint32) (*memSeries, bool) {
	if s := h.series.getByHash(hash, lset, h.syms); s != nil {
		return s, false
	}
	s, created := h.insertSeries(model.SeriesRef(h.nextRef.Add(1)), hash, lset, creator)
	if created {
		h.opts.Limiter.AddSeries(lset)
	}
	return s, created
}

// admitOrCreate returns the series with lset, creating it when new and the
// limiter admits it; otherwise it returns the limiter's error. A series it
// creates is marked as created by batch creator. With probe false the
// caller has just looked for the series and found none: the limiter is
// then asked without looking again, and the store, which looks under its
// lock anyway, still returns a series another append created meanwhile.
func (h *Head) admitOrCreate(hash uint64, lset labels.Labels, creator uint32, probe bool) (*memSeries, bool, error) {
	if probe {
		if s := h.series.getByHash(hash, lset, h.syms); s != nil {
			return s, false, nil
		}
	}
	if err := h.opts.Limiter.AdmitSeries(lset); err != nil {
		h.metrics.rejected(err)
		return nil, false, err
	}
	s, created := h.insertSeries(model.SeriesRef(h.nextRef.Add(1)), hash, lset, creator)
	if !created {
		h.opts.Limiter.RemoveSeries(lset) // another append created it first
	}
	return s, created, nil
}

// insertSeries stores a new series under ref, marked as created by batch
// creator, unless one with the same labels exists, which it returns
// instead. It does not ask or tell the limiter.
func (h *Head) insertSeries(ref model.SeriesRef, hash uint64, lset labels.Labels, creator uint32) (*memSeries, bool) {
	ns := h.syms.newSeries(ref, hash, lset)
	ns.createdBy = creator // not yet published: no lock needed
	s, created := h.series.getOrSet(hash, lset, ns, h.syms)
	if !created {
		return s, false
	}
	h.index.add(ref, s.lset, h.syms)
	h.metrics.series.Inc()
	return s, true
}

// pairStrings returns the interned strings of symbol pairs.
func (h *Head) pairStrings(ids symRefs) []string {
	var out []string
	ids.each(func(id uint32) { out = append(out, h.syms.str(id)) })
	return out
}

// noteTime raises the head's max time to t.
func (h *Head) noteTime(t int64) {
	for {
		cur := h.maxTime.Load()
		if t <= cur || h.maxTime.CompareAndSwap(cur, t) {
			return
		}
	}
}

// currentAppendOpts returns the append settings with the current minimum
// valid time.
func (h *Head) currentAppendOpts() appendOpts {
	o := h.appOpts
	o.minValidTime = max(h.minValidTime.Load(), h.sealedBefore.Load())
	return o
}

// Windows returns the head's time windows: its block duration and
// out-of-order window. Everything that cuts the head's data by time (the
// block shipper, queries) takes them from here.
func (h *Head) Windows() model.Windows { return h.win }

// closedWindow returns the index of the newest block window that is closed
// at head time t (see model.Windows.ClosedBefore). For the max time of an
// empty head (math.MinInt64) it returns math.MinInt64: no window.
func (h *Head) closedWindow(t int64) int64 {
	if !model.ValidTime(t) {
		return math.MinInt64
	}
	return h.win.Of(h.win.ClosedBefore(t)) - 1
}

// releaseBound is the time before which retention releases data when the
// newest sample is at mt (Truncate keeps what is not yet shipped). mt is a
// head time, in range, and the retention a time.Duration: no overflow.
func (h *Head) releaseBound(mt int64) int64 {
	return mt - h.opts.Retention.Milliseconds()
}

// maintain runs retention and checkpoints until Close.
func (h *Head) maintain(every time.Duration) {
	defer close(h.loopDone)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-h.closing:
			return
		case <-tick.C:
		}
		if err := h.maintainOnce(); err != nil {
			h.opts.Logger.Error("head maintenance", "err", err)
		}
	}
}

// maintainOnce releases data past retention and checkpoints the WAL when
// one is due (checkpointDue).
func (h *Head) maintainOnce() error {
	mt := h.maxTime.Load()
	if mt == math.MinInt64 {
		return nil
	}
	h.Truncate(h.releaseBound(mt))
	if !h.checkpointDue(mt) {
		return nil
	}
	return h.Checkpoint(h.ctx)
}

// checkpointDue is the head's checkpoint policy: a checkpoint is due once
// enough WAL was written since the last one (Options.CheckpointBytes), or
// when what it may leave out grew. Without Shipping that is when a block
// window closed; under Shipping, when the shipper reported more windows
// uploaded (SetShipped), since only uploaded windows leave the checkpoint:
// a window sealed but not yet uploaded would be copied again.
func (h *Head) checkpointDue(mt int64) bool {
	h.checkpointMu.Lock()
	defer h.checkpointMu.Unlock()
	if int64(h.wal.Stats().RecordBytes)-h.walAtCheckpoint > h.opts.CheckpointBytes {
		return true
	}
	if h.opts.Shipping {
		return h.uploadedBefore() > h.shippedAtCkpt
	}
	return h.closedWindow(mt) > h.checkpointWindow
}

// uploadedBefore returns the bound before which the head's data is in
// uploaded blocks: under Shipping the shipped bound, but never past the
// sealed one (a window still taking samples is not wholly in any block);
// math.MinInt64 (none) otherwise.
func (h *Head) uploadedBefore() int64 {
	if !h.opts.Shipping {
		return math.MinInt64
	}
	return min(h.shippedBefore.Load(), h.sealedBefore.Load())
}
