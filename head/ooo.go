package head

import (
	"sort"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Out-of-order samples (older than the newest sample of their series but
// inside the out-of-order window) first go to a small sorted buffer per
// series, which reads merge in. When the buffer fills, mergeOOO re-encodes
// the chunks of the windows it touches with the buffered samples merged in,
// so the cost of re-encoding is paid once per oooCompactAt samples.

// mergeOOO empties the out-of-order buffer into the chunks. The caller holds
// s.mu.
func (s *memSeries) mergeOOO(blockDuration int64) {
	for len(s.ooo) > 0 {
		w := model.FloorDiv(s.ooo[0].T, blockDuration)
		n := sort.Search(len(s.ooo), func(i int) bool { return model.FloorDiv(s.ooo[i].T, blockDuration) > w })
		s.mergeWindow(w, s.ooo[:n])
		s.ooo = s.ooo[n:]
	}
	s.ooo = nil
}

// mergeWindow re-encodes the chunks of window w with extra samples merged in.
func (s *memSeries) mergeWindow(w int64, extra []model.Sample) {
	i := sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].window >= w })
	j := i
	for j < len(s.chunks) && s.chunks[j].window == w {
		j++
	}
	wasOpen := j == len(s.chunks) && j > i && s.chunks[j-1].app != nil

	merged := mergeSamples(decodeChunks(s.chunks[i:j]), extra)
	repl := encodeChunks(w, merged)
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
// list wins (the append path never lets both hold one timestamp).
func mergeSamples(a, b []model.Sample) []model.Sample {
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
