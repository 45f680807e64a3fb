package head

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// resolvedSample is a replayed sample with its series looked up.
type resolvedSample struct {
	s *memSeries
	t int64
	v float64
}

// replayShards appends replayed samples on one goroutine per core. Each
// goroutine owns the series whose ref falls in its shard, so the samples of
// one series are appended in WAL order. The reader resolves refs and creates
// series itself; it calls wait before anything that must see every sample
// dispatched so far (checkpoint chunks, the end of the replay).
type replayShards struct {
	h        *Head
	in       []chan []resolvedSample
	bufs     [][]resolvedSample // being filled by the reader, one per shard
	pool     sync.Pool          // of []resolvedSample
	pending  sync.WaitGroup     // batches sent and not yet appended
	running  sync.WaitGroup     // worker goroutines
	appended atomic.Int64
	accepted atomic.Bool // see replayer.accepted
}

// newReplayShards starts the workers, or returns nil on a single core, where
// the reader appends inline.
func newReplayShards(h *Head) *replayShards {
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		return nil
	}
	rs := &replayShards{h: h, in: make([]chan []resolvedSample, n), bufs: make([][]resolvedSample, n)}
	rs.pool.New = func() any { return make([]resolvedSample, 0, 1024) }
	for i := range rs.in {
		rs.in[i] = make(chan []resolvedSample, 4)
		rs.running.Add(1)
		go rs.work(rs.in[i])
	}
	return rs
}

func (rs *replayShards) work(in chan []resolvedSample) {
	defer rs.running.Done()
	var ooo oooBatch
	for batch := range in {
		rs.appended.Add(rs.h.appendResolved(batch, &ooo, rs.accepted.Load()))
		clear(batch)
		rs.pool.Put(batch[:0])
		rs.pending.Done()
	}
}

// add queues one sample for its series' shard.
func (rs *replayShards) add(smp resolvedSample) {
	k := uint64(smp.s.ref) % uint64(len(rs.in))
	if rs.bufs[k] == nil {
		rs.bufs[k] = rs.pool.Get().([]resolvedSample)
	}
	rs.bufs[k] = append(rs.bufs[k], smp)
}

// send hands the queued samples to the workers.
func (rs *replayShards) send() {
	for k, b := range rs.bufs {
		if len(b) == 0 {
			continue
		}
		rs.pending.Add(1)
		rs.in[k] <- b
		rs.bufs[k] = nil
	}
}

// wait returns once every sample sent so far is appended.
func (rs *replayShards) wait() { rs.pending.Wait() }

// stop ends the workers after the samples sent so far.
func (rs *replayShards) stop() {
	for _, c := range rs.in {
		close(c)
	}
	rs.running.Wait()
}

// appendResolved appends replayed samples and returns how many were stored.
// Out-of-order samples are held back in ooo and stored together at the end,
// as a commit stores them. accepted skips the out-of-order window check, for
// samples the head had already taken (a checkpoint's).
func (h *Head) appendResolved(batch []resolvedSample, ooo *oooBatch, accepted bool) int64 {
	o := h.currentAppendOpts()
	if accepted {
		o.oooWindow = math.MaxInt64
	}
	maxT, minT := h.maxTime.Load(), int64(math.MaxInt64)
	var n int64
	for _, smp := range batch {
		s := smp.s
		s.mu.Lock()
		switch deferred, err := s.appendOrDefer(smp.t, smp.v, &o); {
		case deferred:
			ooo.add(s, smp.t, smp.v)
		case err == nil:
			n++
			s.lastAppend = max(s.lastAppend, smp.t)
			maxT = max(maxT, smp.t)
			minT = min(minT, smp.t)
		}
		s.mu.Unlock()
	}
	r := ooo.apply(&o)
	n += r.appended
	minT = min(minT, r.minT)
	h.metrics.oooReencoded.Add(float64(r.reencoded))
	h.noteTime(maxT)
	h.noteMinTime(minT)
	return n
}
