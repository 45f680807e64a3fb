package head

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// A block shipper (package block) seals closed windows of the head into
// blocks and uploads them. The head cooperates through the methods below:
// it hands out its windows (Windows), refuses samples for sealed windows
// (SealBefore), and is told what is uploaded (SetShipped). The checkpoint
// policy is the head's own: its checkpoints hold the series and everything
// not yet in an uploaded block, so the WAL may be truncated at any time
// without losing data that is only on local disk; a checkpoint is taken
// whenever more windows are reported uploaded. After a restart LoadSealed
// (sealed.go) brings the uploaded windows inside the retention back from
// their blocks.

// MinTime returns the time from which the head holds every sample it was
// given (math.MaxInt64 when it holds none): the oldest sample it took,
// raised by each release of old data. Samples lie in [model.MinTime,
// model.MaxTime], so apart from that sentinel so does MinTime, unless a
// release past model.MaxTime (Truncate(math.MaxInt64)) raised it there.
func (h *Head) MinTime() int64 { return h.minTime.Load() }

// MaxTime returns the newest in-order sample time (math.MinInt64 when
// empty), in [model.MinTime, model.MaxTime] otherwise.
func (h *Head) MaxTime() int64 { return h.maxTime.Load() }

// SealBefore refuses, from its return on, every sample older than t with
// model.ErrOutOfWindow. Commits in flight finish first, so no sample older than
// t is stored after SealBefore returns.
func (h *Head) SealBefore(t int64) {
	h.commitMu.Lock()
	defer h.commitMu.Unlock()
	if t > h.sealedBefore.Load() {
		h.sealedBefore.Store(t)
	}
}

// SealedBefore returns the bound set by SealBefore (math.MinInt64 when
// none).
func (h *Head) SealedBefore() int64 { return h.sealedBefore.Load() }

// SetShipped tells the head that every sample older than t is in object
// storage, t a window boundary: retention may release it from memory, and
// checkpoints leave it out. Under Options.Shipping, retention releases
// nothing older than this bound. The bound only rises.
func (h *Head) SetShipped(t int64) {
	for {
		cur := h.shippedBefore.Load()
		if t <= cur || h.shippedBefore.CompareAndSwap(cur, t) {
			return
		}
	}
}

// ShippedBefore returns the bound set by SetShipped: math.MinInt64 until
// a shipper reports one; without Options.Shipping, math.MaxInt64 (the head
// treats everything as stored elsewhere).
func (h *Head) ShippedBefore() int64 { return h.shippedBefore.Load() }

// WindowSeries returns every series with samples in [mint, maxt] and its
// chunks (float and native histogram ones) that lie wholly inside it,
// out-of-order samples merged in, sorted by labels. Chunks never cross a block window, so for a whole window this
// is all of its data. Chunk bytes are shared with the head and must not be
// modified.
func (h *Head) WindowSeries(ctx context.Context, mint, maxt int64) ([]model.ChunkSeries, error) {
	var snaps []*Series
	var refs []*memSeries
	h.series.forEach(func(s *memSeries) {
		if snap := s.snapshot(mint, maxt, h.win); snap != nil {
			snaps = append(snaps, snap)
			refs = append(refs, s)
		}
	})
	out := make([]model.ChunkSeries, 0, len(snaps))
	var b labels.ScratchBuilder
	for i, snap := range snaps {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		all, err := snap.Chunks()
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", h.syms.labels(refs[i].lset, &b), err)
		}
		var chunks []model.Chunk
		for _, c := range all {
			if c.MinT >= mint && c.MaxT <= maxt {
				chunks = append(chunks, c)
			}
		}
		var hists []model.HistogramChunk
		for _, c := range snap.hist {
			if c.MinT >= mint && c.MaxT <= maxt {
				hists = append(hists, c.model())
			}
		}
		if len(chunks) > 0 || len(hists) > 0 {
			out = append(out, model.ChunkSeries{Labels: h.syms.labels(refs[i].lset, &b), Chunks: chunks, Histograms: hists})
		}
	}
	slices.SortFunc(out, func(a, b model.ChunkSeries) int { return labels.Compare(a.Labels, b.Labels) })
	return out, nil
}

// noteMinTime lowers the head's min time to t.
func (h *Head) noteMinTime(t int64) {
	for {
		cur := h.minTime.Load()
		if t >= cur || h.minTime.CompareAndSwap(cur, t) {
			return
		}
	}
}

// raiseMinTime raises the head's min time to t after a release, unless the
// head is empty.
func (h *Head) raiseMinTime(t int64) {
	for {
		cur := h.minTime.Load()
		if cur == math.MaxInt64 || t <= cur || h.minTime.CompareAndSwap(cur, t) {
			return
		}
	}
}
