package head

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// stripe is one lock stripe of the series map. Series are found by the hash
// of their labels (hash collisions are kept in a short slice) and by ref.
// A stripe is 64 bytes, one cache line (checked by a test), so that
// appenders working on different stripes do not share one.
type stripe struct {
	mu     sync.RWMutex
	byHash seriesTable                    // guarded by mu
	byRef  map[model.SeriesRef]*memSeries // guarded by mu
}

// stripeSet is the power-of-two array of stripes. A series lives in the
// stripe of its hash (for lookups by labels) and in the stripe of its ref
// (for lookups by ref); the two may differ.
type stripeSet struct {
	stripes []stripe
	mask    uint64
	// refsDeleted[i] counts deletions from stripes[i].byRef since it was
	// last rebuilt (see rebuildDue), guarded by that stripe's lock. It lives
	// here to keep a stripe one cache line; removals are rare enough that
	// neighbouring counters sharing a line costs nothing.
	refsDeleted []int
}

func newStripeSet(n int) *stripeSet {
	if n <= 0 || n&(n-1) != 0 {
		panic("BUG: stripe count must be a positive power of two")
	}
	s := &stripeSet{stripes: make([]stripe, n), mask: uint64(n - 1), refsDeleted: make([]int, n)}
	for i := range s.stripes {
		s.stripes[i].byRef = map[model.SeriesRef]*memSeries{}
	}
	return s
}

func (ss *stripeSet) hashStripe(hash uint64) *stripe        { return &ss.stripes[hash&ss.mask] }
func (ss *stripeSet) refStripe(ref model.SeriesRef) *stripe { return &ss.stripes[uint64(ref)&ss.mask] }

// getByRef returns the series with ref, or nil.
func (ss *stripeSet) getByRef(ref model.SeriesRef) *memSeries {
	st := ss.refStripe(ref)
	st.mu.RLock()
	s := st.byRef[ref]
	st.mu.RUnlock()
	return s
}

// getByHash returns the series with exactly lset, or nil.
func (ss *stripeSet) getByHash(hash uint64, lset labels.Labels, syms *symbols) *memSeries {
	st := ss.hashStripe(hash)
	st.mu.RLock()
	defer st.mu.RUnlock()
	return findSeries(&st.byHash, hash, lset, syms)
}

func findSeries(t *seriesTable, hash uint64, lset labels.Labels, syms *symbols) *memSeries {
	return t.find(hash, func(s *memSeries) bool { return syms.equal(s.lset, lset) })
}

// getOrSet returns the series with the labels of s if one exists, otherwise
// it stores s and returns it with created true.
func (ss *stripeSet) getOrSet(hash uint64, lset labels.Labels, s *memSeries, syms *symbols) (*memSeries, bool) {
	st := ss.hashStripe(hash)
	st.mu.Lock()
	if prev := findSeries(&st.byHash, hash, lset, syms); prev != nil {
		st.mu.Unlock()
		return prev, false
	}
	st.byHash.insert(hash, s)
	st.mu.Unlock()

	rs := ss.refStripe(s.ref)
	rs.mu.Lock()
	rs.byRef[s.ref] = s
	rs.mu.Unlock()
	return s, true
}

// remove deletes s from both maps.
func (ss *stripeSet) remove(s *memSeries) {
	st := ss.hashStripe(s.hash)
	st.mu.Lock()
	st.byHash.remove(s.hash, s)
	st.mu.Unlock()

	i := uint64(s.ref) & ss.mask
	rs := &ss.stripes[i]
	rs.mu.Lock()
	delete(rs.byRef, s.ref)
	if ss.refsDeleted[i]++; rebuildDue(ss.refsDeleted[i], len(rs.byRef)) {
		rs.byRef, ss.refsDeleted[i] = rebuilt(rs.byRef), 0
	}
	rs.mu.Unlock()
}

// forEach calls f for every series, one stripe at a time. f runs without the
// stripe lock held, so it may lock the series.
func (ss *stripeSet) forEach(f func(s *memSeries)) {
	var batch []*memSeries
	for i := range ss.stripes {
		st := &ss.stripes[i]
		st.mu.RLock()
		batch = batch[:0]
		for _, s := range st.byRef {
			batch = append(batch, s)
		}
		st.mu.RUnlock()
		for _, s := range batch {
			f(s)
		}
	}
}
