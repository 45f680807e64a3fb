package head

import (
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Series is a snapshot of one series' data in a time range, taken under its
// lock and read without it: closed chunks are shared (they never change),
// the open chunk and the out-of-order samples are copied.
type Series struct {
	Ref    model.SeriesRef
	Labels labels.Labels
	chunks []ChunkMeta
	ooo    []model.Sample
	hist   []HistChunk
	mint   int64
	maxt   int64
	win    model.Windows // the head's, for Chunks
}

// ChunkMeta is one XOR chunk of a series with the time range it covers.
// Data is in the Prometheus XOR chunk format (docs/format/chunk.md) and must
// not be modified.
type ChunkMeta = model.Chunk

// snapshot copies what a reader needs of the series in [mint, maxt], or
// returns nil when the series has no samples there. win are the head's.
func (s *memSeries) snapshot(mint, maxt int64, win model.Windows) *Series {
	return s.snapshotIn(nil, mint, maxt, win)
}

// snapshotIn is snapshot with the copies taken from a, which may be nil.
func (s *memSeries) snapshotIn(a *snapArena, mint, maxt int64, win model.Windows) *Series {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := a.newSeries()
	*snap = Series{Ref: s.ref, mint: mint, maxt: maxt, win: win}
	n := 0
	for _, c := range s.chunks {
		if c.maxt >= mint && c.mint <= maxt {
			n++
		}
	}
	if n > 0 {
		snap.chunks = a.metas(n)
		for _, c := range s.chunks {
			if c.maxt < mint || c.mint > maxt {
				continue
			}
			data := c.chunk.Bytes()
			if c.app != nil {
				data = a.copyBytes(data)
			}
			snap.chunks = append(snap.chunks, ChunkMeta{MinT: c.mint, MaxT: c.maxt, Data: data})
		}
	}
	ooo := s.oooSamples()
	lo := sort.Search(len(ooo), func(i int) bool { return ooo[i].T >= mint })
	hi := sort.Search(len(ooo), func(i int) bool { return ooo[i].T > maxt })
	if lo < hi {
		snap.ooo = append([]model.Sample(nil), ooo[lo:hi]...)
	}
	snap.hist = s.histData().snapshot(mint, maxt)
	if len(snap.chunks) == 0 && len(snap.ooo) == 0 && len(snap.hist) == 0 {
		a.unget()
		return nil
	}
	return snap
}

// Iterator returns an iterator over the series' samples in the selected
// range, in time order. reuse may be nil.
func (s *Series) Iterator(reuse *SeriesIterator) *SeriesIterator {
	it := reuse
	if it == nil {
		it = &SeriesIterator{}
	}
	*it = SeriesIterator{chunks: s.chunks, ooo: s.ooo, mint: s.mint, maxt: s.maxt, ci: -1, chunk: it.chunk, direct: len(s.ooo) == 0}
	return it
}

// Chunks returns the series' chunks overlapping the selected range, with the
// out-of-order samples merged in: chunks without out-of-order samples in
// their window are the stored ones, unchanged; the others are re-encoded.
// Chunks may extend beyond the range, and are cut by the windows of the
// head the series was read from. A chunk to re-encode that does not
// decode fails the call with an error wrapping chunkenc.ErrCorrupt: merging
// the samples read before the damage would lose the rest silently.
func (s *Series) Chunks() ([]ChunkMeta, error) {
	if len(s.ooo) == 0 {
		return s.chunks, nil
	}
	ms := &memSeries{x: &seriesExtras{ooo: s.ooo}}
	for _, c := range s.chunks {
		w := s.win.Of(c.MinT)
		cc, err := chunkenc.FromBytes(c.Data)
		if err == nil && oooInWindow(s.ooo, w, s.win) {
			err = checkDecodes(c.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("chunk [%d, %d] of series %d: %w", c.MinT, c.MaxT, s.Ref, err)
		}
		ms.chunks = append(ms.chunks, &memChunk{chunk: cc, mint: c.MinT, maxt: c.MaxT, window: w})
	}
	ms.mergeOOO(s.win)
	out := make([]ChunkMeta, len(ms.chunks))
	for i, c := range ms.chunks {
		out[i] = ChunkMeta{MinT: c.mint, MaxT: c.maxt, Data: c.chunk.Bytes()}
	}
	return out, nil
}

// oooInWindow reports whether ooo, sorted by time, holds a sample of window
// w.
func oooInWindow(ooo []model.Sample, w int64, win model.Windows) bool {
	i := sort.Search(len(ooo), func(i int) bool { return win.Of(ooo[i].T) >= w })
	return i < len(ooo) && win.Of(ooo[i].T) == w
}

// checkDecodes decodes a chunk to its end and returns the error met, if
// any.
func checkDecodes(data []byte) error {
	var it chunkenc.Iterator
	it.Reset(data)
	for it.Next() {
	}
	return it.Err()
}

// SeriesIterator walks the samples of a Series snapshot: its chunks in
// order, merged with its out-of-order samples, limited to the range.
type SeriesIterator struct {
	chunks []ChunkMeta
	ooo    []model.Sample
	mint   int64
	maxt   int64

	ci    int               // current chunk
	chunk chunkenc.Iterator // iterator of chunks[ci]
	cok   bool              // chunk iterator holds a sample
	ct    int64
	cv    float64
	t     int64
	v     float64
	cur   bool // t, v hold a sample in the range
	err   error
	// direct is set for a snapshot without out-of-order samples: its
	// chunks are read straight (nextDirect), without the merge's look-ahead.
	direct bool
}

// nextChunkSample advances the chunk side to its next sample.
func (it *SeriesIterator) nextChunkSample() {
	for {
		if it.ci >= 0 && it.ci < len(it.chunks) && it.chunk.Next() {
			it.ct, it.cv = it.chunk.At()
			it.cok = true
			return
		}
		if it.ci >= 0 && it.ci < len(it.chunks) {
			if err := it.chunk.Err(); err != nil {
				it.err = err
				it.cok = false
				return
			}
		}
		it.ci++
		if it.ci >= len(it.chunks) {
			it.cok = false
			return
		}
		it.chunk.Reset(it.chunks[it.ci].Data)
	}
}

// Next advances to the next sample in the range.
func (it *SeriesIterator) Next() bool {
	if it.direct {
		it.cur = it.nextDirect()
	} else {
		it.cur = it.next()
	}
	return it.cur
}

// nextDirect is next for a snapshot without out-of-order samples: the
// samples of its chunks in order, those before mint skipped, the first
// after maxt ending the walk. It yields what next would, one sample
// earlier than next decodes it.
func (it *SeriesIterator) nextDirect() bool {
	for it.err == nil && it.ci < len(it.chunks) {
		if it.ci >= 0 {
			if it.chunk.Next() {
				t, v := it.chunk.At()
				if t > it.maxt {
					it.ci = len(it.chunks)
					return false
				}
				if t >= it.mint {
					it.t, it.v = t, v
					return true
				}
				continue
			}
			if err := it.chunk.Err(); err != nil {
				it.err = err
				return false
			}
		}
		it.openChunk(it.ci + 1)
	}
	return false
}

// openChunk makes chunks[ci] the current chunk, or ends the walk when
// there is none.
func (it *SeriesIterator) openChunk(ci int) {
	it.ci = ci
	if ci < len(it.chunks) {
		it.chunk.Reset(it.chunks[ci].Data)
	}
}

// skipChunks moves a direct walk past the chunks that end before t
// without decoding them: none of their samples can answer a Seek to t.
// The current chunk is kept when it may still hold such a sample.
func (it *SeriesIterator) skipChunks(t int64) {
	ci := max(it.ci, 0)
	for ci < len(it.chunks) && it.chunks[ci].MaxT < t {
		ci++
	}
	if ci != it.ci {
		it.openChunk(ci)
	}
}

func (it *SeriesIterator) next() bool {
	if it.ci == -1 {
		it.nextChunkSample()
		for it.cok && it.ct < it.mint {
			it.nextChunkSample()
		}
	}
	for it.err == nil {
		useOOO := len(it.ooo) > 0 && (!it.cok || it.ooo[0].T < it.ct)
		switch {
		case useOOO:
			it.t, it.v = it.ooo[0].T, it.ooo[0].V
			it.ooo = it.ooo[1:]
		case it.cok:
			it.t, it.v = it.ct, it.cv
			it.nextChunkSample()
		default:
			return false
		}
		if it.t < it.mint {
			continue
		}
		if it.t > it.maxt {
			it.ooo, it.cok = nil, false
			return false
		}
		return true
	}
	return false
}

// Seek advances to the first sample at or after t; it never moves back.
func (it *SeriesIterator) Seek(t int64) bool {
	if it.cur && it.t >= t {
		return true
	}
	if it.direct && it.err == nil {
		it.skipChunks(t)
	}
	for it.Next() {
		if it.t >= t {
			return true
		}
	}
	return false
}

// At returns the current sample.
func (it *SeriesIterator) At() (int64, float64) { return it.t, it.v }

// Err returns the first decoding error met.
func (it *SeriesIterator) Err() error { return it.err }

// LabelNames returns every label name in the head, sorted.
func (h *Head) LabelNames() []string { return h.index.labelNames() }

// LabelValues returns every value of a label name in the head, sorted.
func (h *Head) LabelValues(name string) []string { return h.index.labelValues(name) }
