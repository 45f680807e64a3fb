package head

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// errAlreadyStored marks a sample identical to one already stored: a retry,
// accepted without storing it twice.
var errAlreadyStored = errors.New("sample already stored")

// Appender collects samples and writes them with Commit. An Appender is not
// safe for concurrent use; take one per request. Refs it returns are valid
// for the whole head, not only this appender.
type Appender struct {
	h *Head
	// id marks the series this batch created (memSeries.createdBy); never
	// zero. Ids wrap after 2^32 batches, which is safe because a batch
	// clears the mark of its series when it ends (apply or reset): only
	// series of batches still open carry an id, and no batch stays open
	// while four billion others come and go.
	id uint32
	// last is the series of the latest lookup: the samples of one series
	// come one after the other, and the next Append with its ref takes it
	// without a lookup (see LookupPairs).
	last *memSeries
	// missed is set by a LookupPairs that found no series, with the hash
	// it looked for; the next lookup by labels clears it.
	missed   bool
	missHash uint64
	// The buffers come from the head's pool on first use and go back at
	// Commit or Rollback, so a request costs no fresh buffers; the appender
	// may be used again after either.
	*appendBufs
}

// appendBufs is the memory of one batch.
type appendBufs struct {
	created   []*memSeries // series this appender created (for the WAL)
	samples   []pendingSample
	hists     []pendingHist
	histRecs  []histRecord
	exemplars []exemplarRecord
	meta      []metadataRecord
	buf       []byte
	toLog     []*memSeries // series whose records this commit writes
	recs      []sampleRecord
	scratch   labels.ScratchBuilder
	pairBuf   []byte   // LookupPairs' scratch
	ooo       oooBatch // out-of-order samples held back by apply
}

type pendingSample struct {
	s *memSeries
	t int64
	v float64
	// unlogged is set when, at Append, the series' record was not in the
	// WAL and another batch had created it: encode then logs it too (see
	// there). Read under the lock Append takes anyway, so that the commit
	// need not lock each series again; a series logged meanwhile is logged
	// twice, which replays the same.
	unlogged bool
}

// Appender returns a new appender.
func (h *Head) Appender() *Appender {
	return &Appender{h: h}
}

// use takes buffers from the pool if the appender holds none.
func (a *Appender) use() {
	if a.appendBufs == nil {
		a.appendBufs = a.h.bufPool.Get().(*appendBufs)
		// Each batch has its own id: series a rolled-back batch created
		// are not this batch's to log.
		if a.id = a.h.appenderIDs.Add(1); a.id == 0 {
			a.id = a.h.appenderIDs.Add(1)
		}
	}
}

// Append adds a sample for the series with lset, or with ref when ref is not
// zero (lset is then ignored). It returns the series' ref. Samples the head
// will never take fail at once: a timestamp outside [model.MinTime,
// model.MaxTime] with an error wrapping model.ErrTimestampOutOfRange (before
// the series is looked up or created, so the returned ref is then ref), a
// sample too old with model.ErrOutOfWindow, another value at a stored timestamp
// with model.ErrDuplicateSample. An exact retry of a stored sample is accepted and
// stored once.
func (a *Appender) Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	if err := model.CheckTime(t); err != nil {
		a.h.metrics.rejected(err)
		return ref, err
	}
	a.use()
	s, err := a.lookup(ref, lset)
	if err != nil {
		return 0, err
	}
	o := a.h.currentAppendOpts()
	s.mu.Lock()
	err = s.check(t, v, &o, &a.ooo.cache)
	unlogged := !s.logged && s.createdBy != a.id
	s.mu.Unlock()
	switch {
	case errors.Is(err, errAlreadyStored):
		return s.ref, nil
	case err != nil:
		a.h.metrics.rejected(err)
		return s.ref, err
	}
	a.samples = append(a.samples, pendingSample{s: s, t: t, v: v, unlogged: unlogged})
	return s.ref, nil
}

// lookup finds or creates the series of a sample.
func (a *Appender) lookup(ref model.SeriesRef, lset labels.Labels) (*memSeries, error) {
	if ref != 0 {
		if s := a.last; s != nil && s.ref == ref {
			return s, nil
		}
		if s := a.h.series.getByRef(ref); s != nil {
			a.last = s
			return s, nil
		}
	}
	if lset.IsEmpty() {
		return nil, model.ErrInvalidLabels
	}
	hash := model.Hash(lset)
	// After a LookupPairs that missed this very hash, looking by labels
	// would miss again: go straight to creating.
	probe := !a.missed || a.missHash != hash
	a.missed = false
	s, created, err := a.h.admitOrCreate(hash, lset, a.id, probe)
	if err != nil {
		return nil, err
	}
	if created {
		a.created = append(a.created, s)
	}
	a.last = s
	return s, nil
}

// AppendExemplar keeps an exemplar for the series with ref (or lset). An
// exemplar timestamp outside [model.MinTime, model.MaxTime] fails with an
// error wrapping model.ErrTimestampOutOfRange, and ref is returned.
func (a *Appender) AppendExemplar(ref model.SeriesRef, lset labels.Labels, e model.Exemplar) (model.SeriesRef, error) {
	if err := model.CheckTime(e.T); err != nil {
		return ref, fmt.Errorf("exemplar: %w", err)
	}
	a.use()
	s, err := a.lookup(ref, lset)
	if err != nil {
		return 0, err
	}
	a.exemplars = append(a.exemplars, exemplarRecord{Ref: s.ref, E: e})
	return s.ref, nil
}

// UpdateMetadata records the metadata of a metric family; the latest wins.
func (a *Appender) UpdateMetadata(family string, m model.Metadata) error {
	a.use()
	a.meta = append(a.meta, metadataRecord{Family: family, Meta: m})
	return nil
}

// Rollback drops everything appended since the last Commit. Series already
// created stay (empty series are released by retention).
func (a *Appender) Rollback() error {
	a.reset()
	return nil
}

// reset empties the buffers and gives them back to the pool. Buffers grown
// by an unusually large batch are dropped instead of pinned.
func (a *Appender) reset() {
	a.last, a.missed = nil, false
	b := a.appendBufs
	if b == nil {
		return
	}
	a.appendBufs = nil
	// Series this batch created and did not log (a rollback or a failed
	// commit) become no batch's own, so that the next batch to use one
	// logs it; the id may come round again one day.
	for _, s := range b.created {
		s.mu.Lock()
		if s.createdBy == a.id {
			s.createdBy = 0
		}
		s.mu.Unlock()
	}
	if cap(b.buf) > maxPooledBuf || cap(b.ooo.samples) > maxPooledOOO {
		return
	}
	b.ooo.reset()
	clear(b.created)
	clear(b.samples)
	clear(b.hists)
	clear(b.histRecs)
	b.hists, b.histRecs = b.hists[:0], b.histRecs[:0]
	clear(b.exemplars)
	clear(b.toLog)
	b.created, b.samples, b.exemplars = b.created[:0], b.samples[:0], b.exemplars[:0]
	b.meta, b.toLog, b.recs, b.buf = b.meta[:0], b.toLog[:0], b.recs[:0], b.buf[:0]
	b.pairBuf = b.pairBuf[:0]
	a.h.bufPool.Put(b)
}

// maxPooledBuf bounds the record buffer of pooled appender buffers, and
// maxPooledOOO their out-of-order samples.
const (
	maxPooledBuf = 4 << 20
	maxPooledOOO = 1 << 16
)

// Commit writes the appended data to the WAL and then into memory. It
// returns only after the WAL write (and its fsync, under the always policy):
// when Commit returns nil, the data survives a crash of the process.
func (a *Appender) Commit() error {
	if a.appendBufs == nil {
		return nil
	}
	defer a.reset()
	if len(a.samples) == 0 && len(a.hists) == 0 && len(a.exemplars) == 0 && len(a.meta) == 0 && len(a.created) == 0 {
		return nil
	}
	h := a.h
	h.commitMu.RLock()
	defer h.commitMu.RUnlock()
	if h.closed.Load() {
		return model.ErrClosed
	}
	a.resolveRemoved()
	sealed := a.dropSealed() + a.dropSealedHists()
	recs := a.encode()
	if err := h.wal.Log(recs...); err != nil {
		return walWriteError(err)
	}
	a.apply()
	if sealed > 0 {
		return fmt.Errorf("%d samples older than the last sealed block (%d): %w", sealed, h.sealedBefore.Load(), model.ErrOutOfWindow)
	}
	return nil
}

// dropSealed removes the pending samples that a block sealed after Append
// checked them, and returns how many. The caller holds commitMu, which
// SealBefore waits for, so the bound cannot move meanwhile.
func (a *Appender) dropSealed() int {
	bound := a.h.sealedBefore.Load()
	if bound == math.MinInt64 {
		return 0
	}
	kept := a.samples[:0]
	for _, p := range a.samples {
		if p.t >= bound {
			kept = append(kept, p)
		}
	}
	n := len(a.samples) - len(kept)
	clear(a.samples[len(kept):])
	a.samples = kept
	if n > 0 {
		a.h.metrics.rejectedN(model.ErrOutOfWindow, n)
	}
	return n
}

// encode builds the WAL records of the pending data: series first (a series
// record must precede every sample that names its ref), then samples,
// exemplars and metadata.
func (a *Appender) encode() [][]byte {
	a.toLog = append(a.toLog[:0], a.created...)
	// A series created by another appender whose commit has not finished
	// may be used here first: log it too, so that no samples record names a
	// ref the WAL has not seen. A series logged twice replays the same.
	for i := range a.samples {
		s := a.samples[i].s
		if !a.samples[i].unlogged || (i > 0 && a.samples[i-1].s == s) {
			continue
		}
		s.mu.Lock()
		logged, mine := s.logged, s.createdBy == a.id
		s.mu.Unlock()
		if !logged && !mine {
			a.toLog = append(a.toLog, s)
		}
	}
	a.toLog = a.unloggedHistSeries(a.toLog)
	a.buf = a.buf[:0]
	var recs [][]byte
	start := 0
	add := func() {
		recs = append(recs, a.buf[start:len(a.buf):len(a.buf)])
		start = len(a.buf)
	}
	if len(a.toLog) > 0 {
		a.buf = encodeSeriesSyms(a.buf, a.toLog, a.h.syms)
		add()
	}
	if len(a.samples) > 0 {
		a.recs = a.recs[:0]
		for _, p := range a.samples {
			a.recs = append(a.recs, sampleRecord{Ref: p.s.ref, T: p.t, V: p.v})
		}
		a.buf = encodeSamples(a.buf, a.recs)
		add()
	}
	for _, typ := range []byte{recHistograms, recFloatHistograms} {
		if a.collectHists(typ) > 0 {
			a.buf = encodeHistograms(a.buf, typ, a.histRecs)
			add()
		}
	}
	if len(a.exemplars) > 0 {
		a.buf = encodeExemplars(a.buf, a.exemplars)
		add()
	}
	if len(a.meta) > 0 {
		a.buf = encodeMetadata(a.buf, a.meta)
		add()
	}
	return recs
}

// resolveRemoved replaces series that retention dropped after Append found
// them by a live series with the same labels, in the pending samples and
// histograms alike. The caller holds commitMu, so no series is dropped while
// the commit runs.
func (a *Appender) resolveRemoved() {
	resolvePending(a, a.samples, func(p *pendingSample) **memSeries { return &p.s })
	resolvePending(a, a.hists, func(p *pendingHist) **memSeries { return &p.s })
}

// resolvePending is resolveRemoved over one kind of pending entry; series
// returns the entry's series field.
func resolvePending[T any](a *Appender, pending []T, series func(*T) **memSeries) {
	for i := range pending {
		s := *series(&pending[i])
		s.mu.Lock()
		removed := s.removed
		s.mu.Unlock()
		if !removed {
			continue
		}
		lset := a.h.syms.labels(s.lset, &a.scratch)
		ns, created := a.h.getOrCreate(model.Hash(lset), lset, a.id)
		if created {
			a.created = append(a.created, ns)
		}
		for j := i; j < len(pending); j++ {
			if p := series(&pending[j]); *p == s {
				*p = ns
			}
		}
	}
}

// apply puts the logged data into memory. Consecutive samples of one series
// share one lock acquisition; out-of-order samples are held back and stored
// together at the end (see oooBatch).
func (a *Appender) apply() {
	h := a.h
	o := h.currentAppendOpts()
	var appended, maxT, minT int64 = 0, o.minValidTime, math.MaxInt64
	for i := 0; i < len(a.samples); {
		s := a.samples[i].s
		s.mu.Lock()
		s.logged = true
		for ; i < len(a.samples) && a.samples[i].s == s; i++ {
			p := a.samples[i]
			switch deferred, err := s.appendOrDefer(p.t, p.v, &o); {
			case deferred:
				a.ooo.add(s, p.t, p.v)
			case err == nil:
				appended++
				maxT = max(maxT, p.t)
				minT = min(minT, p.t)
				s.lastAppend = max(s.lastAppend, p.t)
			case errors.Is(err, errAlreadyStored):
			default:
				// Another commit stored a conflicting sample since Append
				// checked this one.
				h.metrics.rejected(err)
			}
		}
		s.mu.Unlock()
	}
	ha, hmin, hmax := a.applyHists(&o)
	appended += ha
	minT, maxT = min(minT, hmin), max(maxT, hmax)
	r := a.ooo.apply(&o)
	appended += r.appended
	minT = min(minT, r.minT)
	h.metrics.oooStored(r)
	for _, s := range a.created {
		s.mu.Lock()
		s.logged, s.createdBy = true, 0
		s.mu.Unlock()
	}
	// Their marks are cleared: reset has nothing left to clear.
	clear(a.created)
	a.created = a.created[:0]
	h.noteTime(maxT)
	h.noteMinTime(minT)
	h.metrics.samplesAppended.Add(float64(appended))
	for _, e := range a.exemplars {
		h.addExemplar(e)
	}
	h.setMetadata(a.meta)
}
