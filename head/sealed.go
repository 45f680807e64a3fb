package head

import (
	"context"
	"fmt"
	"math"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Under Options.Shipping a checkpoint leaves out the windows already in
// uploaded blocks, so after a restart the head holds only what the
// checkpoint and the WAL replay: the series and the windows not yet
// uploaded. The wiring then reads the blocks of the sealed windows inside
// the retention (SealedRange) and hands their series to LoadSealed, newest
// window first, while the head already serves, so that it holds its whole
// retention in memory again.
//
// Refs and the WAL: LoadSealed writes nothing to the WAL. A series it finds
// (by labels) keeps its ref; a series it creates, held only by blocks, gets
// a fresh ref and is not yet logged, like a series created by an appender
// whose commit has not run: the first commit that gives it a sample logs its
// series record first, and the next checkpoint holds it. Its sealed chunks
// need no record at all, since a restart loads them from the blocks again.
// A series found only in blocks may so get another ref after each restart;
// nothing durable names its old one.

// SealedRange returns the sealed windows that belong in memory, [mint,
// maxt): from the start of the window holding the oldest time retention
// keeps (the newest sample minus Options.Retention) up to SealedBefore.
// mint >= maxt when there are none (an empty head, nothing sealed).
func (h *Head) SealedRange() (mint, maxt int64) {
	mt, sealed := h.maxTime.Load(), h.sealedBefore.Load()
	if mt == math.MinInt64 || sealed == math.MinInt64 {
		return 0, 0
	}
	// mt is a head time, the retention a duration: no overflow.
	mint = max(h.win.Start(h.releaseBound(mt)), h.minValidTime.Load())
	return mint, sealed
}

// LoadSealed puts chunks of sealed windows, read back from their blocks,
// into memory and returns how many it loaded. For each series (found by
// labels or created, see above) and each block window of its chunks:
//
//   - a window not wholly sealed (SealBefore), or released by retention, is
//     skipped: its data belongs to the WAL, or nowhere;
//   - a window the series already holds in memory (replayed from the
//     checkpoint or the WAL) is skipped: loading is idempotent, and what the
//     head replayed is at least what was sealed;
//   - otherwise its chunks are added, closed, in time order.
//
// Chunks must hold the XOR encoding, lie in [model.MinTime, model.MaxTime]
// and not cross a window; their Data is kept and must not be modified
// afterwards. A chunk that does not decode stops the load with an error;
// what was loaded before it stays. LoadSealed may run while the head takes
// samples and serves queries (the windows it fills are sealed, so no append
// competes), and several calls may run at once (one per block, say). The
// head's MinTime drops to the loaded chunks only when the call returns, so
// a query that splits between blocks and head at MinTime never reads a
// window from the head while only some of its series are loaded: hand a
// window's series in one call, and the newest windows first.
func (h *Head) LoadSealed(ctx context.Context, series []model.ChunkSeries) (int, error) {
	sealed := h.sealedBefore.Load()
	loaded := 0
	minT := int64(math.MaxInt64)
	defer func() {
		if minT != math.MaxInt64 {
			h.noteMinTime(minT)
		}
	}()
	for i, cs := range series {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return loaded, err
			}
		}
		if h.closed.Load() {
			return loaded, model.ErrClosed
		}
		n, mint, err := h.loadSeries(cs, sealed)
		loaded += n
		minT = min(minT, mint)
		if err != nil {
			return loaded, fmt.Errorf("load sealed chunks of %s: %w", cs.Labels, err)
		}
	}
	return loaded, nil
}

// loadSeries adds one series' sealed chunks and returns how many, and the
// series' oldest time then (math.MaxInt64 when it added none). commitMu is
// held shared so that retention does not drop the series meanwhile.
func (h *Head) loadSeries(cs model.ChunkSeries, sealed int64) (int, int64, error) {
	chunks := make([]*memChunk, 0, len(cs.Chunks))
	for _, c := range cs.Chunks {
		w := h.win.Of(c.MinT)
		if !model.ValidTime(c.MinT) || !model.ValidTime(c.MaxT) || c.MinT > c.MaxT || h.win.Of(c.MaxT) != w {
			return 0, math.MaxInt64, fmt.Errorf("chunk [%d, %d] is out of range or crosses a window", c.MinT, c.MaxT)
		}
		if h.win.Start(c.MinT)+h.win.Block() > sealed {
			continue // window not wholly sealed; no overflow (see Start)
		}
		xc, err := chunkenc.FromBytes(c.Data)
		if err != nil {
			return 0, math.MaxInt64, fmt.Errorf("chunk [%d, %d]: %w", c.MinT, c.MaxT, err)
		}
		chunks = append(chunks, &memChunk{chunk: xc, mint: c.MinT, maxt: c.MaxT, window: w})
	}
	if len(chunks) == 0 {
		return 0, math.MaxInt64, nil
	}
	h.commitMu.RLock()
	defer h.commitMu.RUnlock()
	minValid := h.minValidTime.Load()
	s, _ := h.getOrCreate(model.Hash(cs.Labels), cs.Labels, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := 0; k < len(chunks); {
		w := chunks[k].window
		e := k + 1
		for e < len(chunks) && chunks[e].window == w {
			e++
		}
		if chunks[e-1].maxt >= minValid && !s.holdsWindow(w, h.win) {
			s.insertWindow(chunks[k:e])
			n += e - k
		}
		k = e
	}
	if n == 0 {
		return 0, math.MaxInt64, nil
	}
	h.noteTime(s.maxT)
	return n, s.chunks[0].mint, nil
}

// holdsWindow reports whether the series has chunks or buffered
// out-of-order samples in window w. The caller holds s.mu.
func (s *memSeries) holdsWindow(w int64, win model.Windows) bool {
	if i, j := s.windowChunks(w); i < j {
		return true
	}
	for _, smp := range s.oooSamples() {
		if win.Of(smp.T) == w {
			return true
		}
	}
	return false
}

// insertWindow puts the closed chunks of one window the series does not
// hold into their place. When they become the newest, the open chunk (of an
// older window) is closed and maxT and lastV follow them. The caller holds
// s.mu.
func (s *memSeries) insertWindow(cs []*memChunk) {
	i, _ := s.windowChunks(cs[0].window)
	newest := i == len(s.chunks)
	if newest && i > 0 {
		s.chunks[i-1].close()
	}
	tail := append([]*memChunk(nil), s.chunks[i:]...)
	s.chunks = append(append(s.chunks[:i], cs...), tail...)
	if !newest {
		return
	}
	last := cs[len(cs)-1]
	it := last.chunk.Iterator(nil)
	for it.Next() {
		s.maxT, s.lastV = it.At()
	}
	s.maxT = last.maxt
	s.lastAppend = max(s.lastAppend, last.maxt)
}
