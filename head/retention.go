package head

import (
	"math"
	"runtime"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Truncate releases from memory every chunk whose samples are all older than
// mint and every out-of-order sample older than mint, and drops the series
// left empty that received nothing for a whole block window. Samples older
// than mint are refused from then on (model.ErrOutOfWindow). Under
// Options.Shipping, mint is lowered to the shipped bound (SetShipped): data
// not yet in object storage stays.
func (h *Head) Truncate(mint int64) {
	mint = min(mint, h.shippedBefore.Load())
	for {
		cur := h.minValidTime.Load()
		if mint <= cur || h.minValidTime.CompareAndSwap(cur, mint) {
			break
		}
	}
	h.raiseMinTime(mint)
	silentBefore := int64(math.MinInt64)
	if mt := h.maxTime.Load(); mt != math.MinInt64 {
		silentBefore = mt - h.appOpts.win.Block()
	}
	var empty []*memSeries
	h.series.forEach(func(s *memSeries) {
		s.mu.Lock()
		s.releaseBefore(mint)
		if s.isEmpty() && s.lastAppend < silentBefore {
			empty = append(empty, s)
		}
		s.mu.Unlock()
	})
	h.dropSeries(empty)
}

// releaseBefore drops chunks and out-of-order samples older than mint. The
// caller holds s.mu.
func (s *memSeries) releaseBefore(mint int64) {
	n := 0
	for n < len(s.chunks) && s.chunks[n].maxt < mint {
		n++
	}
	if n > 0 {
		s.chunks = append(s.chunks[:0:0], s.chunks[n:]...)
	}
	if s.histData() != nil {
		s.histData().releaseBefore(mint)
	}
	n = 0
	for n < len(s.oooSamples()) && s.oooSamples()[n].T < mint {
		n++
	}
	if n > 0 {
		s.setOOO(append(s.oooSamples()[:0:0], s.oooSamples()[n:]...))
	}
}

func (s *memSeries) isEmpty() bool {
	return len(s.chunks) == 0 && len(s.oooSamples()) == 0 && (s.histData() == nil || len(s.histData().chunks) == 0)
}

// dropSeries removes empty series from the maps and the index. Commits are
// held off meanwhile, so a commit either sees a series removed (and creates
// it again under a new ref) or completes before it is removed.
func (h *Head) dropSeries(candidates []*memSeries) {
	if len(candidates) == 0 {
		return
	}
	deleted := map[model.SeriesRef][]string{}
	h.commitMu.Lock()
	for _, s := range candidates {
		s.mu.Lock()
		if s.isEmpty() && !s.removed {
			s.removed = true
			h.series.remove(s)
			deleted[s.ref] = h.pairStrings(s.lset)
		}
		s.mu.Unlock()
	}
	h.commitMu.Unlock()
	for _, pairs := range deleted {
		h.opts.Limiter.RemoveSeries(labels.FromStrings(pairs...))
	}
	h.index.remove(deleted)
	// Until the index has let go of them, the ids of the dropped series
	// must not be freed and reused (see postings.byValue): the series
	// hold them.
	runtime.KeepAlive(candidates)
	h.metrics.series.Sub(float64(len(deleted)))
	h.metrics.seriesRemoved.Add(float64(len(deleted)))
}
