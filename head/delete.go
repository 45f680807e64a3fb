package head

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// DeleteRange drops from memory the samples in [mint, maxt] of every series
// matching all of ms, and returns how many it dropped. The chunks of each
// block window it cuts are re-encoded from the samples left; the others
// stay as they are. It honours ctx between series.
//
// It changes memory only: the WAL still holds the samples, so a restart
// replays them, and blocks already sealed keep them. Callers that must hide
// them for good keep a tombstone (query.Tombstones), which reads honour.
func (h *Head) DeleteRange(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) (int, error) {
	if mint > maxt {
		return 0, nil
	}
	n := 0
	for i, ref := range h.index.match(ms) {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		s := h.series.getByRef(ref)
		if s == nil {
			continue
		}
		s.mu.Lock()
		n += s.deleteRange(mint, maxt, h.win)
		s.mu.Unlock()
	}
	return n, nil
}

// deleteRange drops the series' samples in [mint, maxt] and returns how
// many. The out-of-order buffer is merged first, so that only the chunks
// hold samples. The caller holds s.mu.
func (s *memSeries) deleteRange(mint, maxt int64, win model.Windows) int {
	s.mergeOOO(win)
	var ws []int64
	for _, c := range s.chunks {
		if c.maxt >= mint && c.mint <= maxt && !slices.Contains(ws, c.window) {
			ws = append(ws, c.window)
		}
	}
	n := 0
	for _, w := range ws {
		i, j := s.windowChunks(w)
		samples := decodeChunks(s.chunks[i:j])
		kept := slices.DeleteFunc(samples, func(smp model.Sample) bool { return smp.T >= mint && smp.T <= maxt })
		n += len(samples) - len(kept)
		if len(kept) == 0 {
			s.chunks = slices.Delete(s.chunks, i, j)
			continue
		}
		s.replaceChunks(i, j, w, kept)
	}
	if n > 0 && len(s.chunks) > 0 {
		s.maxT, s.lastV = lastSample(s.chunks[len(s.chunks)-1])
	}
	return n
}

// lastSample returns the newest sample of c.
func lastSample(c *memChunk) (int64, float64) {
	var (
		it   chunkenc.Iterator
		t    int64
		v    float64
		seen bool
	)
	it.Reset(c.chunk.Bytes())
	for it.Next() {
		t, v = it.At()
		seen = true
	}
	if !seen {
		return c.maxt, 0
	}
	return t, v
}
