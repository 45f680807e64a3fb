package head

import (
	"errors"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// pendingHist is a histogram appended but not yet committed.
type pendingHist struct {
	s  *memSeries
	hs histSample
}

// AppendHistogram adds a native histogram sample for the series with lset,
// or with ref when ref is not zero (lset is then ignored). Exactly one of h
// (integer counts) and fh (float counts) must be non-nil; the head keeps it
// and may change it (the chunk appender inserts empty buckets), so the
// caller must not use it after the call. Validity (Histogram.Validate) is
// the caller's to check. It returns the series' ref and the errors of
// Append: model.ErrTimestampOutOfRange, model.ErrOutOfWindow, and
// model.ErrDuplicateSample for another histogram or a float sample at a
// stored timestamp; an exact retry is accepted and stored once.
func (a *Appender) AppendHistogram(ref model.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (model.SeriesRef, error) {
	if err := model.CheckTime(t); err != nil {
		a.h.metrics.rejected(err)
		return ref, err
	}
	if (h == nil) == (fh == nil) {
		return ref, errors.New("append histogram: exactly one of the integer and the float histogram must be set")
	}
	a.use()
	s, err := a.lookup(ref, lset)
	if err != nil {
		return 0, err
	}
	hs := histSample{t: t, h: h, fh: fh}
	o := a.h.currentAppendOpts()
	s.mu.Lock()
	err = s.checkHist(hs, &o)
	s.mu.Unlock()
	switch {
	case errors.Is(err, errAlreadyStored):
		return s.ref, nil
	case err != nil:
		a.h.metrics.rejected(err)
		return s.ref, err
	}
	a.hists = append(a.hists, pendingHist{s: s, hs: hs})
	return s.ref, nil
}

// collectHists fills a.histRecs with the pending histograms of record type
// typ and returns how many.
func (a *Appender) collectHists(typ byte) int {
	a.histRecs = a.histRecs[:0]
	for _, p := range a.hists {
		if (p.hs.fh != nil) == (typ == recFloatHistograms) {
			a.histRecs = append(a.histRecs, histRecord{Ref: p.s.ref, T: p.hs.t, H: p.hs.h, FH: p.hs.fh})
		}
	}
	return len(a.histRecs)
}

// unloggedHistSeries appends to dst the series that
// pending histograms name and that no commit has logged yet (see encode).
func (a *Appender) unloggedHistSeries(dst []*memSeries) []*memSeries {
	for i, p := range a.hists {
		if i > 0 && a.hists[i-1].s == p.s {
			continue
		}
		p.s.mu.Lock()
		logged, mine := p.s.logged, p.s.createdBy == a.id
		p.s.mu.Unlock()
		if !logged && !mine {
			dst = append(dst, p.s)
		}
	}
	return dst
}

// dropSealedHists is dropSealed for the pending histograms.
func (a *Appender) dropSealedHists() int {
	bound := a.h.sealedBefore.Load()
	if bound == math.MinInt64 {
		return 0
	}
	kept := a.hists[:0]
	for _, p := range a.hists {
		if p.hs.t >= bound {
			kept = append(kept, p)
		}
	}
	n := len(a.hists) - len(kept)
	clear(a.hists[len(kept):])
	a.hists = kept
	if n > 0 {
		a.h.metrics.rejectedN(model.ErrOutOfWindow, n)
	}
	return n
}

// applyHists puts the logged histograms into memory and returns how many
// were stored and their time range.
func (a *Appender) applyHists(o *appendOpts) (appended, minT, maxT int64) {
	minT, maxT = math.MaxInt64, math.MinInt64
	for _, p := range a.hists {
		s := p.s
		s.mu.Lock()
		s.logged = true
		err := s.appendHist(p.hs, o)
		if err == nil {
			s.lastAppend = max(s.lastAppend, p.hs.t)
		}
		s.mu.Unlock()
		switch {
		case err == nil:
			appended++
			minT, maxT = min(minT, p.hs.t), max(maxT, p.hs.t)
		case errors.Is(err, errAlreadyStored):
		default:
			// Another commit stored a conflicting sample since
			// AppendHistogram checked this one.
			a.h.metrics.rejected(err)
		}
	}
	return appended, minT, maxT
}
