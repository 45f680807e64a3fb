package head

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// stripe is one lock stripe of the series map, where series are found by
// the hash of their labels (see seriesTable). A stripe is 64 bytes, one
// cache line (checked by a test), so that appenders working on different
// stripes do not share one.
type stripe struct {
	mu     sync.RWMutex
	byHash seriesTable // guarded by mu
	_      [8]byte
}

// stripeSet is the power-of-two array of stripes, and the series by ref. A
// series lives in the stripe of its hash (for lookups by labels) and in
// refs (for lookups by ref).
type stripeSet struct {
	stripes []stripe
	mask    uint64
	refs    *refTable
}

func newStripeSet(n int) *stripeSet {
	if n <= 0 || n&(n-1) != 0 {
		panic("BUG: stripe count must be a positive power of two")
	}
	return &stripeSet{stripes: make([]stripe, n), mask: uint64(n - 1), refs: newRefTable()}
}

func (ss *stripeSet) hashStripe(hash uint64) *stripe { return &ss.stripes[hash&ss.mask] }

// getByRef returns the series with ref, or nil.
func (ss *stripeSet) getByRef(ref model.SeriesRef) *memSeries {
	return ss.refs.get(ref)
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
	ss.refs.set(s)
	return s, true
}

// remove deletes s from both maps.
func (ss *stripeSet) remove(s *memSeries) {
	st := ss.hashStripe(s.hash)
	st.mu.Lock()
	st.byHash.remove(s.hash, s)
	st.mu.Unlock()
	ss.refs.remove(s)
}

// forEach calls f for every series. f runs without any stripe lock held,
// so it may lock the series.
func (ss *stripeSet) forEach(f func(s *memSeries)) {
	ss.refs.forEach(f)
}
