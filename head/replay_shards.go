package head

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Parallel replay. The reader decodes records, makes the series of new
// refs (interning their labels: one goroutine alone takes the symbol
// table's lock without contention) and hands them and the samples to one
// worker goroutine per core; the workers store the series in the head's
// table and append the samples. A series belongs to the worker chosen by the hash
// of its labels, so a label set logged under two refs (a series dropped and
// created again) lands on one worker, which sees all its records in WAL
// order: the samples of one series are appended in the order they were
// logged, and creating it twice finds the first one. Each worker maps the
// refs of its series; the reader only remembers which worker holds a ref
// (one byte a ref), so resolving a sample costs the reader a slice read.
//
// Whatever needs the series themselves on the reader (checkpoint chunks,
// histograms, exemplars) first waits for the workers to drain (settle) and
// then looks refs up in the workers' maps, which nothing writes meanwhile.

// replaySeries is a series record entry with the hash of its labels and
// the series the reader made for it, to be stored by a worker unless one
// with the same labels exists.
type replaySeries struct {
	hash uint64
	lset labels.Labels
	s    *memSeries
}

// replayBatch is what one record gives one worker: series to create or
// samples to append.
type replayBatch struct {
	series  []replaySeries
	samples []sampleRecord
}

// replayWorker creates and appends the series of one shard. Its fields are
// its own while it runs; the reader reads them only when settled.
type replayWorker struct {
	in         chan *replayBatch
	byRef      refMap
	ooo        oooBatch
	outOfRange outOfRange
	appended   int64
	created    int
	unknown    int // samples whose series the worker does not hold
}

// replayShards runs the workers and remembers which worker holds each ref.
type replayShards struct {
	h        *Head
	workers  []*replayWorker
	bufs     []*replayBatch // being filled by the reader, one per worker
	pool     sync.Pool      // of *replayBatch
	pending  sync.WaitGroup // batches sent and not yet applied
	running  sync.WaitGroup // worker goroutines
	accepted atomic.Bool    // see replayer.accepted
	// owner maps a WAL ref to 1 + the index of its worker (0: unknown).
	owner       []uint8
	ownerSparse map[model.SeriesRef]uint8
}

// maxReplayWorkers bounds the workers: owner holds a worker index in a byte.
const maxReplayWorkers = 64

// newReplayShards starts one worker per core.
func newReplayShards(h *Head) *replayShards {
	n := min(max(runtime.GOMAXPROCS(0), 1), maxReplayWorkers)
	rs := &replayShards{h: h, workers: make([]*replayWorker, n), bufs: make([]*replayBatch, n),
		ownerSparse: map[model.SeriesRef]uint8{}}
	rs.pool.New = func() any { return &replayBatch{} }
	for i := range rs.workers {
		w := &replayWorker{in: make(chan *replayBatch, 16), byRef: refMap{sparse: map[model.SeriesRef]*memSeries{}}}
		rs.workers[i] = w
		rs.running.Add(1)
		go rs.work(w)
	}
	return rs
}

func (rs *replayShards) work(w *replayWorker) {
	defer rs.running.Done()
	for b := range w.in {
		if len(b.series) > 0 {
			rs.create(w, b.series)
		}
		if len(b.samples) > 0 {
			rs.appendSamples(w, b.samples)
		}
		clear(b.series)
		b.series, b.samples = b.series[:0], b.samples[:0]
		rs.pool.Put(b)
		rs.pending.Done()
	}
}

// create stores the series of one batch and maps their refs.
func (rs *replayShards) create(w *replayWorker, series []replaySeries) {
	h := rs.h
	n := 0
	for _, sr := range series {
		ref := sr.s.ref
		s, created := h.storeReplayed(sr.hash, sr.lset, sr.s)
		if created {
			n++
		}
		s.mu.Lock()
		s.logged = true
		s.mu.Unlock()
		w.byRef.set(ref, s)
	}
	w.created += n
	h.metrics.series.Add(float64(n))
}

// appendSamples resolves and appends the samples of one batch.
func (rs *replayShards) appendSamples(w *replayWorker, samples []sampleRecord) {
	h := rs.h
	o := h.currentAppendOpts()
	if rs.accepted.Load() {
		o.oooWindow = math.MaxInt64
	}
	maxT, minT := h.maxTime.Load(), int64(math.MaxInt64)
	var n int64
	for _, smp := range samples {
		s := w.byRef.get(smp.Ref)
		if s == nil {
			w.unknown++
			continue
		}
		if !w.outOfRange.keep(h, s, smp.T, &w.outOfRange.samples) {
			continue
		}
		s.mu.Lock()
		switch deferred, err := s.appendOrDefer(smp.T, smp.V, &o); {
		case deferred:
			w.ooo.add(s, smp.T, smp.V)
		case err == nil:
			n++
			s.lastAppend = max(s.lastAppend, smp.T)
			maxT = max(maxT, smp.T)
			minT = min(minT, smp.T)
		}
		s.mu.Unlock()
	}
	r := w.ooo.apply(&o)
	n += r.appended
	minT = min(minT, r.minT)
	h.metrics.oooReencoded.Add(float64(r.reencoded))
	h.noteTime(maxT)
	h.noteMinTime(minT)
	w.appended += n
}

// ownerOf returns the worker holding ref, or nil for a ref never logged.
func (rs *replayShards) ownerOf(ref model.SeriesRef) *replayWorker {
	var k uint8
	if uint64(ref) < uint64(len(rs.owner)) {
		k = rs.owner[ref]
	} else {
		k = rs.ownerSparse[ref]
	}
	if k == 0 {
		return nil
	}
	return rs.workers[k-1]
}

// own records that the worker of hash holds ref, and returns that worker's
// index. Refs are handed out densely, as in refMap.
func (rs *replayShards) own(ref model.SeriesRef, hash uint64) int {
	k := int((hash >> 32) % uint64(len(rs.workers)))
	if ref >= maxDenseRef {
		rs.ownerSparse[ref] = uint8(k + 1)
		return k
	}
	if int(ref) >= len(rs.owner) {
		rs.owner = append(rs.owner, make([]uint8, int(ref)+1-len(rs.owner)+len(rs.owner)/2)...)
	}
	rs.owner[ref] = uint8(k + 1)
	return k
}

// get returns the series of ref, or nil. The workers must be settled.
func (rs *replayShards) get(ref model.SeriesRef) *memSeries {
	if w := rs.ownerOf(ref); w != nil {
		return w.byRef.get(ref)
	}
	return nil
}

// buf returns the batch being filled for worker k.
func (rs *replayShards) buf(k int) *replayBatch {
	if rs.bufs[k] == nil {
		rs.bufs[k] = rs.pool.Get().(*replayBatch)
	}
	return rs.bufs[k]
}

// addSeries makes the series of a ref not seen before and queues it for
// its worker. Making it interns its labels, which here, on the reader
// alone, takes the symbol table's lock without contention: on the workers
// that lock was the busiest of the replay.
func (rs *replayShards) addSeries(ref model.SeriesRef, lset labels.Labels) {
	hash := model.Hash(lset)
	b := rs.buf(rs.own(ref, hash))
	b.series = append(b.series, replaySeries{hash: hash, lset: lset, s: rs.h.syms.newSeries(ref, hash, lset)})
}

// addSample queues a sample for the worker of its series and reports
// whether the ref is known.
func (rs *replayShards) addSample(smp sampleRecord) bool {
	var k uint8
	if uint64(smp.Ref) < uint64(len(rs.owner)) {
		k = rs.owner[smp.Ref]
	} else {
		k = rs.ownerSparse[smp.Ref]
	}
	if k == 0 {
		return false
	}
	b := rs.buf(int(k - 1))
	b.samples = append(b.samples, smp)
	return true
}

// send hands the queued batches to the workers.
func (rs *replayShards) send() {
	for k, b := range rs.bufs {
		if b == nil {
			continue
		}
		rs.pending.Add(1)
		rs.workers[k].in <- b
		rs.bufs[k] = nil
	}
}

// wait returns once every batch sent so far is applied.
func (rs *replayShards) wait() { rs.pending.Wait() }

// stop ends the workers after the batches sent so far.
func (rs *replayShards) stop() {
	for _, w := range rs.workers {
		close(w.in)
	}
	rs.running.Wait()
}

// totals sums what the workers did. The workers must be settled.
func (rs *replayShards) totals() (created, appended, unknown int) {
	for _, w := range rs.workers {
		created += w.created
		appended += int(w.appended)
		unknown += w.unknown
	}
	return created, appended, unknown
}
