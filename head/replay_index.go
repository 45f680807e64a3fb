package head

import (
	"runtime"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// The replay builds the postings of the series it created once, at the
// end, rather than as it creates them: nothing reads the postings before
// the replay ends, and walking the refs in increasing order yields every
// list sorted, where series come out of the WAL in commit order, which is
// not ref order when commits interleaved. Creating a series so takes no
// index lock, and no list is sorted.
//
// The walk runs on every core, each goroutine taking the label names whose
// symbol id falls in its share, so that their lists are disjoint. Lists are
// keyed by symbol ids (name id, value id), which hashes a word instead of
// two strings per label, and are moved into the head's postings at the end.

// indexPart is the lists one goroutine of the index walk builds.
type indexPart struct {
	// keys maps a label pair, name id << 32 | value id, to its list.
	keys map[uint64]*postingList
}

// lastPair is the pair a walk saw last at one label position, and its list.
type lastPair struct {
	key  uint64
	list *postingList
}

// buildIndex adds every series the replay created to the head's postings.
// The workers must have stopped.
func (rs *replayShards) buildIndex() {
	refs := rs.createdRefs()
	n := max(min(runtime.GOMAXPROCS(0), len(refs)/minIndexShare), 1)
	parts := make([]indexPart, n)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() { parts[w] = rs.walkIndex(refs, w, n) })
	}
	wg.Wait()
	rs.installIndex(parts, refs)
}

// minIndexShare is the fewest series worth a goroutine of the index walk.
const minIndexShare = 4096

// createdRefs returns the refs of the series the replay created, sorted. A
// ref that maps to a series created under another ref (its labels logged
// twice) is left out: that series is indexed under its own.
func (rs *replayShards) createdRefs() []model.SeriesRef {
	var refs []model.SeriesRef
	for ref, k := range rs.owner {
		if k != 0 {
			if s := rs.workers[k-1].byRef.get(model.SeriesRef(ref)); s != nil && s.ref == model.SeriesRef(ref) {
				refs = append(refs, s.ref)
			}
		}
	}
	var sparse []model.SeriesRef
	for ref := range rs.ownerSparse {
		if s := rs.get(ref); s != nil && s.ref == ref {
			sparse = append(sparse, ref)
		}
	}
	slices.Sort(sparse) // all above the dense refs
	return append(refs, sparse...)
}

// walkIndex builds the lists of the label names whose id is w modulo n.
// Refs come in increasing order, so every list is built sorted.
func (rs *replayShards) walkIndex(refs []model.SeriesRef, w, n int) indexPart {
	p := indexPart{keys: map[uint64]*postingList{}}
	// Series of one scrape target have neighbouring refs, so the pair at
	// one label position is mostly the one of the series before.
	var last []lastPair
	for _, ref := range refs {
		ids := rs.get(ref).lset
		for i, pos := 0, 0; i < len(ids); pos++ {
			var name, value uint32
			name, i = ids.at(i)
			value, i = ids.at(i)
			if int(name%uint32(n)) != w {
				continue
			}
			k := uint64(name)<<32 | uint64(value)
			for len(last) <= pos {
				last = append(last, lastPair{key: ^uint64(0)})
			}
			if last[pos].key != k {
				last[pos] = lastPair{key: k, list: p.list(k)}
			}
			last[pos].list.push(ref)
		}
	}
	return p
}

// list returns the list of pair k, adding it when new.
func (p *indexPart) list(k uint64) *postingList {
	l := p.keys[k]
	if l == nil {
		l = &postingList{}
		p.keys[k] = l
	}
	return l
}

// installIndex adds the lists and the refs of every series to the head's
// postings. A list already there (the postings are empty before a replay,
// so nearly never) takes the new refs one by one.
func (rs *replayShards) installIndex(parts []indexPart, refs []model.SeriesRef) {
	p, syms := rs.h.index, rs.h.syms
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, part := range parts {
		for k, l := range part.keys {
			name, value := syms.str(uint32(k>>32)), syms.str(uint32(k))
			vals := p.m[name]
			if vals == nil {
				vals = map[string]*postingList{}
				p.m[name] = vals
			}
			old := vals[value]
			if old == nil || old.len() == 0 {
				vals[value] = l
				continue
			}
			for _, ref := range l.appendTo(nil) {
				old.insert(ref)
			}
		}
	}
	insert := (*postingList).push
	if p.all.len() > 0 {
		insert = (*postingList).insert
	}
	for _, ref := range refs {
		insert(&p.all, ref)
	}
}

// storeReplayed stores a replayed series s, made by symbols.newSeries for
// hash and lset, unless one with the same labels exists, which it returns
// instead, and counts it with the limiter. It is insertSeries without
// making the series (the replay's reader does), the index (buildIndex adds
// the series once the replay is done) and the series gauge (the worker adds
// its batch): safe for concurrent use like insertSeries.
func (h *Head) storeReplayed(hash uint64, lset labels.Labels, s *memSeries) (*memSeries, bool) {
	s, created := h.series.getOrSet(hash, lset, s, h.syms)
	if created {
		h.opts.Limiter.AddSeries(lset)
	}
	return s, created
}
