package head

import (
	"context"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Append stores one sample and commits it at once: a convenience for
// programs embedding the head. Batches should use an Appender and one
// Commit, which costs one WAL write for the whole batch.
func (h *Head) Append(lset labels.Labels, t int64, v float64) error {
	app := h.Appender()
	if _, err := app.Append(0, lset, t, v); err != nil {
		return err
	}
	return app.Commit()
}

// Range returns the samples of the series with exactly lset in [mint, maxt].
func (h *Head) Range(lset labels.Labels, mint, maxt int64) ([]model.Sample, error) {
	s := h.series.getByHash(model.Hash(lset), lset, h.syms)
	if s == nil {
		return nil, nil
	}
	snap := s.snapshot(mint, maxt, h.win)
	if snap == nil {
		return nil, nil
	}
	var out []model.Sample
	it := snap.Iterator(nil)
	for it.Next() {
		t, v := it.At()
		out = append(out, model.Sample{T: t, V: v})
	}
	return out, it.Err()
}

// Latest returns the newest sample of the series with exactly lset.
func (h *Head) Latest(lset labels.Labels) (model.Sample, bool) {
	s := h.series.getByHash(model.Hash(lset), lset, h.syms)
	if s == nil {
		return model.Sample{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newest()
}

// SeriesInfo describes one series held in memory.
type SeriesInfo struct {
	Ref        model.SeriesRef
	Labels     labels.Labels
	Samples    int   // in chunks (native histograms included) and in the out-of-order buffer
	Chunks     int   // float and native histogram chunks
	ChunkBytes int   // bytes of encoded chunk data
	MinTime    int64 // oldest sample
	MaxTime    int64 // newest sample
}

// Info returns what the head holds of the series with exactly lset.
func (h *Head) Info(lset labels.Labels) (SeriesInfo, bool) {
	s := h.series.getByHash(model.Hash(lset), lset, h.syms)
	if s == nil {
		return SeriesInfo{}, false
	}
	info := SeriesInfo{Ref: s.ref, Labels: lset}
	s.mu.Lock()
	s.addTo(&info)
	s.mu.Unlock()
	return info, true
}

// addTo adds the series' sample, chunk and byte counts and time range to
// info. The caller holds s.mu.
func (s *memSeries) addTo(info *SeriesInfo) {
	if info.Samples == 0 {
		info.MinTime, info.MaxTime = math.MaxInt64, math.MinInt64
	}
	for _, c := range s.chunks {
		info.Samples += c.chunk.NumSamples()
		info.ChunkBytes += len(c.chunk.Bytes())
		info.MinTime = min(info.MinTime, c.mint)
		info.MaxTime = max(info.MaxTime, c.maxt)
	}
	info.Chunks += len(s.chunks)
	if s.histData() != nil {
		for _, c := range s.histData().chunks {
			info.Samples += c.chunk.NumSamples()
			info.ChunkBytes += len(c.chunk.Bytes())
			info.MinTime = min(info.MinTime, c.mint)
			info.MaxTime = max(info.MaxTime, c.maxt)
		}
		info.Chunks += len(s.histData().chunks)
	}
	info.Samples += len(s.oooSamples())
	if len(s.oooSamples()) > 0 {
		info.MinTime = min(info.MinTime, s.oooSamples()[0].T)
	}
}

// Exemplars returns the kept exemplars in [mint, maxt] of the series
// matching ms, sorted by series labels.
func (h *Head) Exemplars(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]model.SeriesExemplars, error) {
	var (
		out []model.SeriesExemplars
		b   labels.ScratchBuilder
	)
	for i, ref := range h.index.match(ms) {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s := h.series.getByRef(ref)
		if s == nil {
			continue
		}
		s.mu.Lock()
		var es []model.Exemplar
		if s.exemplarBuf() != nil {
			es = s.exemplarBuf().inRange(mint, maxt)
		}
		s.mu.Unlock()
		if len(es) > 0 {
			out = append(out, model.SeriesExemplars{Labels: h.labelsOf(s, &b), Exemplars: es})
		}
	}
	slices.SortFunc(out, func(a, b model.SeriesExemplars) int { return labels.Compare(a.Labels, b.Labels) })
	return out, nil
}
