package head

import (
	"sync"
	"sync/atomic"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// The head hands out refs one after the other from 1, so the series by ref
// are a dense array: pages of refPageLen pointers, made when a series first
// lands in one and dropped when retention has emptied it. A lookup by ref
// is two loads and an index, with no lock and no hashing, and a series
// costs one pointer where a map entry cost five to six times as much.
//
// Refs from a WAL written by another build, or a crafted one, may be
// anything: those at or beyond maxPagedRef go to a map instead, so that one
// huge ref cannot make the page directory huge.
const (
	refPageBits = 10
	refPageLen  = 1 << refPageBits
	// maxPagedRef bounds the refs kept in pages: a directory of at most
	// 2^18 page pointers (2 MiB), reached only past 268 million series.
	maxPagedRef = 1 << (refPageBits + 18)
)

// refPage holds the series of refPageLen consecutive refs.
type refPage struct {
	slots [refPageLen]atomic.Pointer[memSeries]
	n     int // series in slots; guarded by refTable.mu
}

// refTable finds series by ref. Reads of dense refs take no lock: the
// directory is copied on write and published atomically, and slots are
// atomic pointers, so a reader sees a series only once it was stored. All
// writes take mu.
type refTable struct {
	mu    sync.RWMutex
	pages atomic.Pointer[[]*refPage]     // never nil; written under mu
	far   map[model.SeriesRef]*memSeries // guarded by mu; refs >= maxPagedRef
	// farDeleted counts deletions from far since it was last rebuilt (see
	// rebuildDue). Guarded by mu.
	farDeleted int
}

func newRefTable() *refTable {
	t := &refTable{far: map[model.SeriesRef]*memSeries{}}
	t.pages.Store(new([]*refPage))
	return t
}

// get returns the series with ref, or nil. Safe for concurrent use with
// every other method.
func (t *refTable) get(ref model.SeriesRef) *memSeries {
	if ref < maxPagedRef {
		dir := *t.pages.Load()
		if i := int(ref >> refPageBits); i < len(dir) {
			if p := dir[i]; p != nil {
				return p.slots[ref&(refPageLen-1)].Load()
			}
		}
		return nil
	}
	t.mu.RLock()
	s := t.far[ref]
	t.mu.RUnlock()
	return s
}

// set stores s under s.ref, replacing any series stored there.
func (t *refTable) set(s *memSeries) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.ref >= maxPagedRef {
		t.far[s.ref] = s
		return
	}
	i := int(s.ref >> refPageBits)
	dir := *t.pages.Load()
	if i >= len(dir) || dir[i] == nil {
		dir = t.withPage(dir, i, new(refPage))
	}
	p := dir[i]
	if p.slots[s.ref&(refPageLen-1)].Swap(s) == nil {
		p.n++
	}
}

// withPage publishes a copy of dir with page p at index i and returns it.
// The caller holds mu. The copy grows to twice the length it needs, so
// that series created one after the other copy it O(log n) times.
func (t *refTable) withPage(dir []*refPage, i int, p *refPage) []*refPage {
	n := len(dir)
	if i >= n {
		n = max(2*(i+1), 4)
	}
	out := make([]*refPage, n)
	copy(out, dir)
	out[i] = p
	t.pages.Store(&out)
	return out
}

// remove deletes s if it is the series stored under s.ref. A page left
// empty is dropped; a later series with a ref in it makes a new one.
func (t *refTable) remove(s *memSeries) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.ref >= maxPagedRef {
		if t.far[s.ref] == s {
			delete(t.far, s.ref)
			if t.farDeleted++; rebuildDue(t.farDeleted, len(t.far)) {
				t.far, t.farDeleted = rebuilt(t.far), 0
			}
		}
		return
	}
	dir := *t.pages.Load()
	i := int(s.ref >> refPageBits)
	if i >= len(dir) || dir[i] == nil {
		return
	}
	p := dir[i]
	if !p.slots[s.ref&(refPageLen-1)].CompareAndSwap(s, nil) {
		return
	}
	if p.n--; p.n == 0 {
		t.withPage(dir, i, nil)
	}
}

// forEach calls f for every series stored, without holding mu, so that f
// may lock the series. Series stored or removed meanwhile may or may not be
// seen.
func (t *refTable) forEach(f func(s *memSeries)) {
	for _, p := range *t.pages.Load() {
		if p == nil {
			continue
		}
		for i := range p.slots {
			if s := p.slots[i].Load(); s != nil {
				f(s)
			}
		}
	}
	t.mu.RLock()
	far := make([]*memSeries, 0, len(t.far))
	for _, s := range t.far {
		far = append(far, s)
	}
	t.mu.RUnlock()
	for _, s := range far {
		f(s)
	}
}
