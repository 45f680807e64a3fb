package head

import (
	"fmt"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Native histograms live beside a series' float chunks, in chunks of the
// Prometheus histogram encodings (tsdb/chunkenc HistogramChunk and
// FloatHistogramChunk, docs/format/chunk.md): blocks and remote read then
// carry them as stored. Like float chunks they never cross a block window.
// Histograms are far fewer than floats, so an out-of-order one is not
// buffered: the chunks of its window are decoded and encoded again with it.

// histChunkSamples is the number of histograms after which a chunk is cut,
// as Prometheus does: a histogram sample is tens of bytes, and reading a
// histogram chunk costs more than reading a float one.
const histChunkSamples = 120

// histChunk is one histogram chunk of a series. Only the newest one is
// open (app != nil); a closed chunk's bytes never change again.
type histChunk struct {
	chunk      pchunkenc.Chunk
	app        pchunkenc.Appender // nil once closed
	mint, maxt int64
	window     int64
}

// histSeries holds the histograms of one series.
type histSeries struct {
	chunks []*histChunk // sorted by time, non-overlapping
	maxT   int64        // newest histogram timestamp (valid when len(chunks) > 0)
}

// histSample is one integer or float histogram: exactly one of h and fh is
// set.
type histSample struct {
	t  int64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// encoding returns the chunk encoding that holds the sample.
func (hs histSample) encoding() pchunkenc.Encoding {
	if hs.fh != nil {
		return pchunkenc.EncFloatHistogram
	}
	return pchunkenc.EncHistogram
}

// same reports whether two samples hold the same histogram.
func (hs histSample) same(o histSample) bool {
	switch {
	case hs.h != nil && o.h != nil:
		return hs.h.Equals(o.h)
	case hs.fh != nil && o.fh != nil:
		return hs.fh.Equals(o.fh)
	}
	return false
}

// checkHist reports whether the histogram could be appended now: nil for a
// new sample, errAlreadyStored for an exact retry, or a typed error. The
// caller holds s.mu.
func (s *memSeries) checkHist(hs histSample, o *appendOpts) error {
	if hs.t < o.minValidTime {
		return model.ErrOutOfWindow
	}
	if len(s.chunks) > 0 && hs.t <= s.maxT {
		if _, ok := s.lookup(hs.t, nil); ok {
			return fmt.Errorf("a float sample is stored at %d: %w", hs.t, model.ErrDuplicateSample)
		}
	}
	hd := s.histData()
	if hd == nil || len(hd.chunks) == 0 || hs.t > hd.maxT {
		return nil
	}
	if old, ok := hd.find(hs.t); ok {
		if old.same(hs) {
			return errAlreadyStored
		}
		return model.ErrDuplicateSample
	}
	if hd.maxT-hs.t > o.oooWindow {
		return model.ErrOutOfWindow
	}
	return nil
}

// appendHist stores a histogram checked by checkHist. It returns
// errAlreadyStored or a typed error when another commit stored a sample at
// its timestamp meanwhile. The caller holds s.mu.
func (s *memSeries) appendHist(hs histSample, o *appendOpts) error {
	if err := s.checkHist(hs, o); err != nil {
		return err
	}
	hd := s.histOrNew()
	if len(hd.chunks) == 0 || hs.t > hd.maxT {
		hd.appendInOrder(hs, o.win)
		return nil
	}
	hd.insert(hs, o.win)
	return nil
}

// appendInOrder appends a histogram newer than every stored one, cutting a
// chunk at a window boundary, a change between integer and float counts,
// or after histChunkSamples samples.
func (hd *histSeries) appendInOrder(hs histSample, win model.Windows) {
	w := win.Of(hs.t)
	var c *histChunk
	if n := len(hd.chunks); n > 0 {
		c = hd.chunks[n-1]
	}
	if c == nil || c.app == nil || c.window != w || c.chunk.Encoding() != hs.encoding() || c.chunk.NumSamples() >= histChunkSamples {
		if c != nil {
			c.close()
		}
		c = newHistChunk(hs.encoding(), w, hs.t)
		hd.chunks = append(hd.chunks, c)
	}
	var (
		nc      pchunkenc.Chunk
		recoded bool
		app     pchunkenc.Appender
		err     error
	)
	if hs.fh != nil {
		nc, recoded, app, err = c.app.AppendFloatHistogram(nil, 0, hs.t, hs.fh, false)
	} else {
		nc, recoded, app, err = c.app.AppendHistogram(nil, 0, hs.t, hs.h, false)
	}
	if err != nil {
		// With appendOnly false the appender cuts or recodes instead.
		panic("BUG: append histogram: " + err.Error())
	}
	switch {
	case nc != nil && recoded:
		c.chunk = nc
	case nc != nil:
		// A counter reset or a new bucket layout: the appender cut a chunk.
		c.close()
		c = &histChunk{chunk: nc, mint: hs.t, window: w}
		hd.chunks = append(hd.chunks, c)
	}
	c.app = app
	c.maxt = hs.t
	hd.maxT = hs.t
}

func newHistChunk(enc pchunkenc.Encoding, window, t int64) *histChunk {
	var chk pchunkenc.Chunk = pchunkenc.NewHistogramChunk()
	if enc == pchunkenc.EncFloatHistogram {
		chk = pchunkenc.NewFloatHistogramChunk()
	}
	app, err := chk.Appender()
	if err != nil {
		panic("BUG: appender on a new histogram chunk: " + err.Error())
	}
	return &histChunk{chunk: chk, app: app, mint: t, maxt: t, window: window}
}

// close ends appending to the chunk.
func (c *histChunk) close() { c.app = nil }

// insert puts an out-of-order histogram into the chunks of its window,
// which are decoded and encoded again. The window's last chunk stays open
// when it is the series' newest.
func (hd *histSeries) insert(hs histSample, win model.Windows) {
	w := win.Of(hs.t)
	lo := sort.Search(len(hd.chunks), func(i int) bool { return hd.chunks[i].window >= w })
	hi := lo
	for hi < len(hd.chunks) && hd.chunks[hi].window == w {
		hi++
	}
	var samples []histSample
	for _, c := range hd.chunks[lo:hi] {
		samples = appendChunkHists(samples, c.chunk)
	}
	i := sort.Search(len(samples), func(i int) bool { return samples[i].t >= hs.t })
	samples = append(samples, histSample{})
	copy(samples[i+1:], samples[i:])
	samples[i] = hs
	rebuilt := &histSeries{}
	for _, smp := range samples {
		rebuilt.appendInOrder(smp, win)
	}
	if hi < len(hd.chunks) {
		rebuilt.chunks[len(rebuilt.chunks)-1].close()
	}
	tail := append([]*histChunk(nil), hd.chunks[hi:]...)
	hd.chunks = append(append(hd.chunks[:lo], rebuilt.chunks...), tail...)
}

// find returns the histogram stored at exactly t.
func (hd *histSeries) find(t int64) (histSample, bool) {
	i := sort.Search(len(hd.chunks), func(i int) bool { return hd.chunks[i].maxt >= t })
	if i == len(hd.chunks) || hd.chunks[i].mint > t {
		return histSample{}, false
	}
	for _, smp := range appendChunkHists(nil, hd.chunks[i].chunk) {
		if smp.t == t {
			return smp, true
		}
	}
	return histSample{}, false
}

// appendChunkHists appends the histograms of a chunk to dst.
func appendChunkHists(dst []histSample, c pchunkenc.Chunk) []histSample {
	it := c.Iterator(nil)
	for {
		switch it.Next() {
		case pchunkenc.ValHistogram:
			t, h := it.AtHistogram(nil)
			dst = append(dst, histSample{t: t, h: h})
		case pchunkenc.ValFloatHistogram:
			t, fh := it.AtFloatHistogram(nil)
			dst = append(dst, histSample{t: t, fh: fh})
		case pchunkenc.ValNone:
			return dst
		default:
			// Our histogram chunks hold nothing else.
			return dst
		}
	}
}

// releaseBefore drops the histogram chunks older than mint.
func (hd *histSeries) releaseBefore(mint int64) {
	n := 0
	for n < len(hd.chunks) && hd.chunks[n].maxt < mint {
		n++
	}
	if n > 0 {
		hd.chunks = append(hd.chunks[:0:0], hd.chunks[n:]...)
	}
}
