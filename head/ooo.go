package head

import (
	"sort"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Out-of-order samples (older than the newest sample of their series but
// inside the out-of-order window) are stored by re-encoding the chunks of
// their block window with them merged in. A batch's out-of-order samples of
// one series are sorted and merged together (ooo_batch.go), so a window is
// re-encoded once per batch, not once per sample. When a batch brings only a
// few, they wait in a small sorted buffer per series, which reads merge in;
// once oooCompactAt samples wait, the buffer is merged, so the cost of
// re-encoding is shared by that many samples.

// mergeOOO empties the out-of-order buffer into the chunks and returns the
// number of samples it encoded. The caller holds s.mu.
func (s *memSeries) mergeOOO(win model.Windows) int {
	n := 0
	for len(s.oooSamples()) > 0 {
		w := win.Of(s.oooSamples()[0].T)
		k := inWindow(s.oooSamples(), w, win)
		n += s.mergeWindow(w, s.oooSamples()[:k])
		s.setOOO(s.oooSamples()[k:])
	}
	s.setOOO(nil)
	return n
}

// inWindow returns how many of the leading samples of ss, sorted by time,
// fall in window w or before it.
func inWindow(ss []model.Sample, w int64, win model.Windows) int {
	return sort.Search(len(ss), func(i int) bool { return win.Of(ss[i].T) > w })
}

// mergeWindow re-encodes the chunks of window w with extra merged in and
// returns the number of samples encoded. extra is sorted by time and holds
// no timestamp the chunks hold.
func (s *memSeries) mergeWindow(w int64, extra []model.Sample) int {
	i, j := s.windowChunks(w)
	merged := mergeSamples(decodeChunks(s.chunks[i:j]), extra)
	s.replaceChunks(i, j, w, merged)
	return len(merged)
}

// windowChunks returns the range [i, j) of s.chunks in window w; i == j when
// the window has none, at the place its chunks would go.
func (s *memSeries) windowChunks(w int64) (i, j int) {
	i = sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].window >= w })
	j = i
	for j < len(s.chunks) && s.chunks[j].window == w {
		j++
	}
	return i, j
}

// replaceChunks replaces s.chunks[i:j], the chunks of window w, by chunks
// holding samples, which is sorted and not empty. When the last of the old
// chunks was the open one, the last new chunk is open.
func (s *memSeries) replaceChunks(i, j int, w int64, samples []model.Sample) {
	wasOpen := j == len(s.chunks) && j > i && s.chunks[j-1].app != nil
	repl := encodeChunks(w, samples)
	if wasOpen {
		last := repl[len(repl)-1]
		app, err := last.chunk.Appender()
		if err != nil {
			panic("BUG: appender on a re-encoded chunk: " + err.Error())
		}
		last.app = app
	}
	tail := append([]*memChunk(nil), s.chunks[j:]...)
	s.chunks = append(append(s.chunks[:i], repl...), tail...)
}

// decodeChunks returns the samples of consecutive chunks.
func decodeChunks(cs []*memChunk) []model.Sample {
	n := 0
	for _, c := range cs {
		n += c.chunk.NumSamples()
	}
	out := make([]model.Sample, 0, n)
	var it chunkenc.Iterator
	for _, c := range cs {
		it.Reset(c.chunk.Bytes())
		for it.Next() {
			t, v := it.At()
			out = append(out, model.Sample{T: t, V: v})
		}
	}
	return out
}

// mergeSamples merges two sorted sample lists. On equal timestamps the first
// list wins (the append path never lets both hold one timestamp). When one
// list is empty it returns the other, not a copy.
func mergeSamples(a, b []model.Sample) []model.Sample {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	out := make([]model.Sample, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0].T < b[0].T:
			out, a = append(out, a[0]), a[1:]
		case a[0].T > b[0].T:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// encodeChunks encodes sorted samples of one window into closed chunks of at
// most chunkenc.MaxSamples samples each.
func encodeChunks(w int64, samples []model.Sample) []*memChunk {
	var out []*memChunk
	for len(samples) > 0 {
		n := min(len(samples), chunkenc.MaxSamples)
		c := newMemChunk(w, samples[0].T)
		for _, smp := range samples[:n] {
			if err := c.app.Append(smp.T, smp.V); err != nil {
				panic("BUG: append while re-encoding: " + err.Error())
			}
		}
		c.maxt = samples[n-1].T
		c.close()
		out = append(out, c)
		samples = samples[n:]
	}
	return out
}
