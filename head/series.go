package head

import (
	"sort"
	"sync"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// memChunk is one Gorilla chunk of a series. All its samples fall in one
// block window. Only the newest chunk of a series is open (app != nil); a
// closed chunk's bytes never change again, so readers may share them.
type memChunk struct {
	chunk      *chunkenc.XORChunk
	app        *chunkenc.Appender // nil once closed
	mint, maxt int64
	window     int64 // index of the block window: floor(mint / block duration)
	// own is the chunk of a chunk the head cut (chunk points to it): one
	// allocation for both. Chunks loaded from the WAL or a block leave it
	// empty.
	own chunkenc.XORChunk
}

// firstChunkBytes is the buffer a new chunk starts with: a series' first
// samples (the 2-byte header, a varint timestamp, a raw value, then a few
// bytes a sample) fit, and appending grows it. A million new series that
// each hold a few samples so take 32 bytes of chunk each, not the 128 a
// buffer sized for a full chunk would pin.
const firstChunkBytes = 32

// memSeries is one series in memory.
type memSeries struct {
	ref  model.SeriesRef
	hash uint64
	lset symRefs // symbol pairs; immutable

	mu     sync.Mutex
	chunks []*memChunk // guarded by mu; sorted by time, non-overlapping
	maxT   int64       // guarded by mu; newest in-order timestamp (valid when len(chunks) > 0)
	lastV  float64     // guarded by mu; value at maxT
	// lastAppend is the head time (newest timestamp seen by the head) when
	// the series last received a sample; series silent for a whole window
	// are dropped by retention.
	lastAppend int64 // guarded by mu
	// x holds what few series ever have (out-of-order samples, exemplars,
	// native histograms); nil until the first of them, so that a plain
	// float series pays one pointer for all three. Read it through
	// oooSamples, exemplarBuf and histData.
	x *seriesExtras // guarded by mu
	// createdBy is the id of the appender batch that created the series;
	// until the series is logged, that batch's commit writes its record.
	// Zero once that batch has ended (committed or not): the series is then
	// no batch's own. A uint32, so that it packs with the two flags below
	// and keeps the struct in the 144-byte size class (see Appender.id).
	createdBy uint32 // guarded by mu
	logged    bool   // guarded by mu; the series record is in the WAL
	removed   bool   // guarded by mu; dropped by retention, no longer in the maps
	// app is the appender of the open chunk when cut made it (that
	// chunk's app points here): kept in the series, so that a new series
	// and every chunk cut after allocate no appender of their own.
	app chunkenc.Appender // guarded by mu
}

// seriesExtras are the rarely used parts of a series, guarded by its mu.
type seriesExtras struct {
	ooo       []model.Sample // out-of-order samples not yet merged, sorted by T, older than maxT
	exemplars *exemplarRing  // nil until the first exemplar
	hist      *histSeries    // nil until the first native histogram
}

// oooSamples returns the out-of-order buffer (nil when empty). The caller
// holds s.mu.
func (s *memSeries) oooSamples() []model.Sample {
	if s.x == nil {
		return nil
	}
	return s.x.ooo
}

// setOOO replaces the out-of-order buffer. The caller holds s.mu.
func (s *memSeries) setOOO(b []model.Sample) {
	if s.x == nil {
		if b == nil {
			return
		}
		s.x = &seriesExtras{}
	}
	s.x.ooo = b
}

// exemplarBuf returns the kept exemplars, or nil. The caller holds s.mu.
func (s *memSeries) exemplarBuf() *exemplarRing {
	if s.x == nil {
		return nil
	}
	return s.x.exemplars
}

// exemplarsOrNew returns the kept exemplars, making the ring on first use.
// The caller holds s.mu.
func (s *memSeries) exemplarsOrNew() *exemplarRing {
	if s.x == nil {
		s.x = &seriesExtras{}
	}
	if s.x.exemplars == nil {
		s.x.exemplars = &exemplarRing{}
	}
	return s.x.exemplars
}

// histData returns the native histogram chunks, or nil. The caller holds
// s.mu.
func (s *memSeries) histData() *histSeries {
	if s.x == nil {
		return nil
	}
	return s.x.hist
}

// histOrNew returns the native histogram chunks, making them on first use.
// The caller holds s.mu.
func (s *memSeries) histOrNew() *histSeries {
	if s.x == nil {
		s.x = &seriesExtras{}
	}
	if s.x.hist == nil {
		s.x.hist = &histSeries{}
	}
	return s.x.hist
}

func newMemSeries(ref model.SeriesRef, hash uint64, lset symRefs) *memSeries {
	return &memSeries{ref: ref, hash: hash, lset: lset}
}

// appendOpts are the head settings the append path needs.
type appendOpts struct {
	win          model.Windows
	oooWindow    int64 // milliseconds (win's unless replay widens it); math.MaxInt64: any age
	minValidTime int64 // samples older than this are out of the window (retention)
	oooCompactAt int   // merge out-of-order samples into chunks once this many wait
}

// check reports whether t, v could be appended now: nil for a new sample,
// errAlreadyStored for an exact retry, or a typed error. It does not change
// the series. cc, which may be nil, caches the chunks it decodes for the
// checks of a whole batch. The caller holds s.mu.
func (s *memSeries) check(t int64, v float64, o *appendOpts, cc *chunkCache) error {
	switch deferred, err := s.classify(t, v, o); {
	case err != nil:
		return err
	case !deferred:
		return nil
	}
	if old, ok := s.lookup(t, cc); ok {
		if model.SameValue(v, old) {
			return errAlreadyStored
		}
		return model.ErrDuplicateSample
	}
	return nil
}

// classify judges a sample by the series' newest one alone. It returns
// deferred == false and err == nil for a sample newer than every stored one;
// errAlreadyStored or a typed error for one refused at once; deferred ==
// true for an out-of-order sample inside the window, which may still
// collide with a stored sample. The caller holds s.mu.
func (s *memSeries) classify(t int64, v float64, o *appendOpts) (deferred bool, err error) {
	if len(s.chunks) == 0 || t > s.maxT {
		if t < o.minValidTime {
			return false, model.ErrOutOfWindow
		}
		return false, nil
	}
	switch {
	case t < o.minValidTime:
		return false, model.ErrOutOfWindow
	case t == s.maxT:
		if model.SameValue(v, s.lastV) {
			return false, errAlreadyStored
		}
		return false, model.ErrDuplicateSample
	case s.maxT-t > o.oooWindow: // t < maxT; both in range: no overflow
		return false, model.ErrOutOfWindow
	}
	return true, nil
}

// appendOrDefer stores a sample newer than every stored one at once. An
// out-of-order sample inside the window is not stored: it returns deferred
// == true, and the caller passes it to appendOOO with the other
// out-of-order samples of its batch. Refused samples get classify's error.
// The caller holds s.mu.
func (s *memSeries) appendOrDefer(t int64, v float64, o *appendOpts) (deferred bool, err error) {
	deferred, err = s.classify(t, v, o)
	if err == nil && !deferred {
		s.appendInOrder(t, v, o.win)
	}
	return deferred, err
}

// appendInOrder appends a sample newer than every stored one, cutting a new
// chunk at a block-window boundary or when the open chunk is full.
func (s *memSeries) appendInOrder(t int64, v float64, win model.Windows) {
	w := win.Of(t)
	var c *memChunk
	if n := len(s.chunks); n > 0 {
		c = s.chunks[n-1]
	}
	if c == nil || c.app == nil || c.window != w {
		c = s.cut(c, w, t)
	}
	// Samples come in time order, so the only error is a full chunk; asking
	// Append is cheaper than reading the count before every sample.
	if err := c.app.Append(t, v); err != nil {
		c = s.cut(c, w, t)
		if err := c.app.Append(t, v); err != nil {
			panic("BUG: append to a new chunk: " + err.Error())
		}
	}
	c.maxt = t
	s.maxT, s.lastV = t, v
}

// cut closes the open chunk c (if any) and starts a new one for window w,
// appended to through s.app: only the newest chunk is open, so one
// appender per series is enough.
func (s *memSeries) cut(c *memChunk, w, t int64) *memChunk {
	if c != nil {
		c.close()
	}
	c = &memChunk{mint: t, maxt: t, window: w}
	c.own.InitEmpty(firstChunkBytes)
	c.chunk = &c.own
	if err := s.app.Reset(c.chunk); err != nil {
		panic("BUG: appender on a new chunk: " + err.Error())
	}
	c.app = &s.app
	s.chunks = append(s.chunks, c)
	return c
}

func newMemChunk(window, t int64) *memChunk {
	c := &memChunk{mint: t, maxt: t, window: window}
	c.own.InitEmpty(firstChunkBytes)
	c.chunk = &c.own
	app, err := c.chunk.Appender()
	if err != nil {
		panic("BUG: appender on a new chunk: " + err.Error())
	}
	c.app = app
	return c
}

// close ends appending to the chunk and gives back unused capacity.
func (c *memChunk) close() {
	if c.app == nil {
		return
	}
	c.app = nil
	c.chunk.Compact()
}

// lookup finds the value stored at exactly t, in the chunks or the
// out-of-order buffer. cc may be nil. The caller holds s.mu.
func (s *memSeries) lookup(t int64, cc *chunkCache) (float64, bool) {
	i := sort.Search(len(s.oooSamples()), func(i int) bool { return s.oooSamples()[i].T >= t })
	if i < len(s.oooSamples()) && s.oooSamples()[i].T == t {
		return s.oooSamples()[i].V, true
	}
	// Chunks are sorted and do not overlap: the first one ending at or
	// after t is the only one that may hold it.
	i = sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].maxt >= t })
	if i == len(s.chunks) || s.chunks[i].mint > t {
		return 0, false
	}
	if cc != nil {
		return cc.find(s.chunks[i], t)
	}
	return seekChunk(s.chunks[i], t)
}

// headSample returns the newest sample of the series.
func (s *memSeries) newest() (model.Sample, bool) {
	if len(s.chunks) == 0 {
		return model.Sample{}, false
	}
	return model.Sample{T: s.maxT, V: s.lastV}, true
}
