package head

import (
	"cmp"
	"math"
	"slices"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// A batch (one commit, or one WAL record during replay) stores its samples
// in order, except the out-of-order ones: those are collected, sorted per
// series once, checked against each other and against what is stored, and
// merged into each window they touch once. N out-of-order samples of one
// series thus cost O(N log N) plus one pass over each window they touch,
// where storing them one by one re-encoded the window every oooCompactAt
// samples, O(N²).
//
// Holding them back until the end of the batch changes nothing a reader of
// the batch could tell: whether a sample is out of order, and whether it is
// inside the window, depends only on the newest sample at its place in the
// batch, which is judged there (classify); and no later in-order sample can
// share its timestamp, being newer than the newest one.

// oooSample is an out-of-order sample held back until the end of its batch.
type oooSample struct {
	s   *memSeries
	seq int // place among the batch's out-of-order samples
	t   int64
	v   float64
}

// oooBatch collects the out-of-order samples of one batch. The zero value is
// ready to use; a batch is not safe for concurrent use.
type oooBatch struct {
	samples []oooSample
	// cache serves the duplicate checks of the batch: those of
	// Appender.Append and those of apply.
	cache chunkCache
}

// oooResult counts what storing a batch's out-of-order samples did.
type oooResult struct {
	appended   int64 // samples stored
	duplicates int   // samples refused: a different value is stored at their time
	reencoded  int   // samples encoded by window merges
	minT, maxT int64 // of the samples stored; MaxInt64 and MinInt64 when none
}

// add holds back an out-of-order sample of s (appendOrDefer returned
// deferred). Samples must be added in batch order.
func (b *oooBatch) add(s *memSeries, t int64, v float64) {
	b.samples = append(b.samples, oooSample{s: s, seq: len(b.samples), t: t, v: v})
}

// apply stores the samples held back, locking each series once, and empties
// the batch and its cache.
func (b *oooBatch) apply(o *appendOpts) oooResult {
	r := oooResult{minT: math.MaxInt64, maxT: math.MinInt64}
	// Sorted before any series lock is taken: the lock is held only for
	// the linear merge.
	slices.SortFunc(b.samples, func(x, y oooSample) int {
		return cmp.Or(cmp.Compare(x.s.ref, y.s.ref), cmp.Compare(x.t, y.t), cmp.Compare(x.seq, y.seq))
	})
	for i := 0; i < len(b.samples); {
		s := b.samples[i].s
		j := i + 1
		for j < len(b.samples) && b.samples[j].s == s {
			j++
		}
		s.mu.Lock()
		s.appendOOO(b.samples[i:j], o, &b.cache, &r)
		s.mu.Unlock()
		i = j
	}
	b.reset()
	return r
}

// reset empties the batch and its cache.
func (b *oooBatch) reset() {
	clear(b.samples)
	b.samples = b.samples[:0]
	b.cache.reset()
}

// appendOOO stores out-of-order samples of s, sorted by time and, at one
// time, in batch order, each inside the window when classify judged it. Few
// enough go to the buffer; otherwise the buffer and they are merged into the
// chunks, one pass per window. The caller holds s.mu.
func (s *memSeries) appendOOO(news []oooSample, o *appendOpts, cc *chunkCache, r *oooResult) {
	if len(s.oooSamples())+len(news) < o.oooCompactAt {
		s.bufferOOO(news, cc, r)
		return
	}
	buf := s.oooSamples()
	s.setOOO(nil)
	for len(buf) > 0 || len(news) > 0 {
		w := int64(math.MaxInt64)
		if len(buf) > 0 {
			w = o.win.Of(buf[0].T)
		}
		if len(news) > 0 {
			w = min(w, o.win.Of(news[0].t))
		}
		nb := inWindow(buf, w, o.win)
		nn := len(news)
		for k, n := range news {
			if o.win.Of(n.t) > w {
				nn = k
				break
			}
		}
		r.reencoded += s.mergeBatchWindow(w, buf[:nb], news[:nn], r)
		buf, news = buf[nb:], news[nn:]
	}
}

// bufferOOO adds a few out-of-order samples to the buffer, looking up what
// is stored at their times one by one. The caller holds s.mu.
func (s *memSeries) bufferOOO(news []oooSample, cc *chunkCache, r *oooResult) {
	var stored []model.Sample
	for i, n := range news {
		if i > 0 && news[i-1].t == n.t {
			continue
		}
		if v, ok := s.lookup(n.t, cc); ok {
			stored = append(stored, model.Sample{T: n.t, V: v})
		}
	}
	acc := resolve(stored, news, r)
	s.noteAppended(acc)
	s.setOOO(mergeSamples(s.oooSamples(), acc))
}

// mergeBatchWindow re-encodes the chunks of window w with the buffered
// samples buf and the new samples news of that window merged in, and returns
// the number of samples encoded (none when nothing changes). The caller
// holds s.mu.
func (s *memSeries) mergeBatchWindow(w int64, buf []model.Sample, news []oooSample, r *oooResult) int {
	i, j := s.windowChunks(w)
	// The buffer never holds a timestamp the chunks hold.
	stored := mergeSamples(decodeChunks(s.chunks[i:j]), buf)
	acc := resolve(stored, news, r)
	if len(acc) == 0 && len(buf) == 0 {
		return 0
	}
	s.noteAppended(acc)
	merged := mergeSamples(stored, acc)
	s.replaceChunks(i, j, w, merged)
	return len(merged)
}

// noteAppended records that samples, sorted by time, were stored.
func (s *memSeries) noteAppended(samples []model.Sample) {
	if len(samples) > 0 {
		s.lastAppend = max(s.lastAppend, samples[len(samples)-1].T)
	}
}

// resolve returns the samples of news to store, sorted by time. news is
// sorted by time and, at one time, in batch order; stored is sorted by time
// and holds the stored sample at every timestamp of news where there is one.
// At each timestamp the stored sample, or else the first new one, wins: a
// new sample with the same value (bit for bit) is a retry, accepted without
// being stored again; one with a different value is a duplicate, counted in
// r.duplicates. Stored samples are counted in r.
func resolve(stored []model.Sample, news []oooSample, r *oooResult) []model.Sample {
	var out []model.Sample
	for i := 0; i < len(news); {
		t := news[i].t
		for len(stored) > 0 && stored[0].T < t {
			stored = stored[1:]
		}
		var winner float64
		if len(stored) > 0 && stored[0].T == t {
			winner = stored[0].V
		} else {
			winner = news[i].v
			if out == nil {
				out = make([]model.Sample, 0, len(news)-i)
			}
			out = append(out, model.Sample{T: t, V: winner})
			r.appended++
			r.minT, r.maxT = min(r.minT, t), max(r.maxT, t)
			i++
		}
		for ; i < len(news) && news[i].t == t; i++ {
			if !model.SameValue(news[i].v, winner) {
				r.duplicates++
			}
		}
	}
	return out
}
