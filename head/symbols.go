package head

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// symbols interns label names and values. A series keeps its labels as pairs
// of symbol ids, so a million series with job="node" hold one copy of "job"
// and one of "node", and each series' label set costs a few bytes per
// label (see symRefs).
//
// Reading a symbol by id takes no lock: strings live in fixed-size pages
// that never move, and an id is only ever read after the series holding it
// was published under a stripe lock, which orders the write of the string
// before the read.
//
// Symbols are reference-counted: every label slot of a series holds one
// reference to its id. The references of a series are given back when the
// series itself is unreachable (a cleanup the garbage collector runs, see
// newSeries), not when retention drops it: an appender between Append and
// Commit, a query or a checkpoint may still hold a dropped series and read
// its labels, and until they let go its ids keep their strings. An id
// whose last reference is gone is freed (its string released) and reused
// by the next new string, so under series churn the table holds the
// strings of the series alive, not of every series the head ever had.
//
// Readers that hold only a series' ids (s.lset) and not the series must
// keep the series alive until they are done (runtime.KeepAlive).
type symbols struct {
	mu   sync.Mutex
	ids  map[string]uint32 // guarded by mu; live symbols
	refs []uint32          // guarded by mu; references per id, 0 for a free id
	free []uint32          // guarded by mu; ids to reuse, their pages slot empty
	// deleted counts deletions from ids since it was last rebuilt (see
	// rebuildDue).
	deleted int // guarded by mu
	// last holds the ids of the label set interned last, by position
	// (name0, value0, ...): hints for the next one (see internLabels).
	last  [32]uint32 // guarded by mu
	pages atomic.Pointer[[]*symbolPage]
	// releaseIDs is release as a func value, made once: a method value
	// made per series would cost an allocation each.
	releaseIDs func(symRefs)
}

const symbolPageBits = 12

type symbolPage [1 << symbolPageBits]string

func newSymbols() *symbols {
	t := &symbols{ids: map[string]uint32{}}
	t.pages.Store(&[]*symbolPage{})
	t.releaseIDs = t.release
	return t
}

// newSeries returns a new series with the labels lset, taking a reference
// to each of their symbols. The references are given back once the series
// is unreachable, whether it was stored or lost a race to an equal series.
func (t *symbols) newSeries(ref model.SeriesRef, hash uint64, lset labels.Labels) *memSeries {
	ids := t.internLabels(lset)
	s := newMemSeries(ref, hash, ids)
	// The cleanup's argument is the ids slice, which does not refer back to
	// the series: the series can still be collected.
	runtime.AddCleanup(s, t.releaseIDs, ids)
	return s
}

// internLocked returns the id of s, adding it when new, and takes one
// reference to it. The stored string is a copy, so s may point into a
// reused request buffer. The caller holds mu.
func (t *symbols) internLocked(s string) uint32 {
	if id, ok := t.ids[s]; ok {
		t.refs[id]++
		return id
	}
	s = string(append([]byte(nil), s...))
	var id uint32
	pages := *t.pages.Load()
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
		t.refs[id] = 1
	} else {
		id = uint32(len(t.refs))
		t.refs = append(t.refs, 1)
		if int(id>>symbolPageBits) == len(pages) {
			grown := append(pages[:len(pages):len(pages)], new(symbolPage))
			t.pages.Store(&grown)
			pages = grown
		}
	}
	pages[id>>symbolPageBits][id&(1<<symbolPageBits-1)] = s
	t.ids[s] = id
	return id
}

// release gives back one reference to each id (a series' symbol pairs, as
// internLabels returned them). An id left without references is freed: its
// string is dropped and the id reused. No reachable series may hold a freed
// id, which newSeries's cleanup guarantees.
func (t *symbols) release(ids symRefs) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pages := *t.pages.Load()
	for i := 0; i < len(ids); {
		var id uint32
		id, i = ids.at(i)
		switch t.refs[id] {
		case 0:
			panic("BUG: symbol released more often than interned")
		case 1:
			slot := &pages[id>>symbolPageBits][id&(1<<symbolPageBits-1)]
			delete(t.ids, *slot)
			*slot = ""
			t.free = append(t.free, id)
			t.deleted++
		}
		t.refs[id]--
	}
	if rebuildDue(t.deleted, len(t.ids)) {
		t.ids, t.deleted = rebuilt(t.ids), 0
	}
}

// live returns the number of symbols in use.
func (t *symbols) live() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ids)
}

// str returns the string of one symbol id. Small enough to inline.
func (t *symbols) str(id uint32) string {
	return (*t.pages.Load())[id>>symbolPageBits][id&(1<<symbolPageBits-1)]
}

// internLabels turns a label set into symbol pairs: name0, value0, name1,
// ... taking one reference per label name and value. The whole set is
// interned under one acquisition of mu: appenders creating series at once
// would otherwise trade the lock twenty times per series of ten labels.
//
// New series come in batches of similar ones (the series of one target
// share all labels but one or two), so the id at each position of the last
// set interned is tried first: when its string is the one asked for, the
// map lookup is skipped.
func (t *symbols) internLabels(lset labels.Labels) symRefs {
	var buf [32 * maxSymRefLen]byte // sixteen labels without a heap buffer
	b := buf[:0]
	t.mu.Lock()
	pages := *t.pages.Load()
	i := 0
	lset.Range(func(l labels.Label) {
		b = appendSymRef(b, t.internHinted(pages, i, l.Name))
		b = appendSymRef(b, t.internHinted(pages, i+1, l.Value))
		i += 2
	})
	t.mu.Unlock()
	return symRefs(b)
}

// internHinted is internLocked trying t.last[i] first. The hint is only
// taken when its id holds s now: a freed id holds "", and an empty string
// is never taken from a hint. The caller holds mu; pages are the current
// ones.
func (t *symbols) internHinted(pages []*symbolPage, i int, s string) uint32 {
	if i < len(t.last) {
		if id := t.last[i]; s != "" && int(id>>symbolPageBits) < len(pages) && pageStr(pages, id) == s {
			t.refs[id]++
			return id
		}
	}
	id := t.internLocked(s)
	if i < len(t.last) {
		t.last[i] = id
	}
	return id
}

// labels rebuilds a label set from symbol pairs.
func (t *symbols) labels(ids symRefs, b *labels.ScratchBuilder) labels.Labels {
	b.Reset()
	pages := *t.pages.Load()
	for i := 0; i < len(ids); {
		var n, v uint32
		n, i = ids.at(i)
		v, i = ids.at(i)
		b.Add(pageStr(pages, n), pageStr(pages, v))
	}
	return b.Labels()
}

func pageStr(pages []*symbolPage, id uint32) string {
	return pages[id>>symbolPageBits][id&(1<<symbolPageBits-1)]
}

// equal reports whether the symbol pairs spell exactly lset. It runs for
// every sample appended by labels, so it stays lock-free.
func (t *symbols) equal(ids symRefs, lset labels.Labels) bool {
	pages := *t.pages.Load()
	i, eq := 0, true
	lset.Range(func(l labels.Label) {
		if !eq || i >= len(ids) {
			eq = false
			return
		}
		var n, v uint32
		n, i = ids.at(i)
		v, i = ids.at(i) // a name is always followed by its value
		eq = pageStr(pages, n) == l.Name && pageStr(pages, v) == l.Value
	})
	return eq && i == len(ids)
}

// labelsOf returns the labels of s. It keeps s alive until they are read,
// for callers that use s no more (see symbols: the ids of an unreachable
// series may be freed and reused).
func (h *Head) labelsOf(s *memSeries, b *labels.ScratchBuilder) labels.Labels {
	ls := h.syms.labels(s.lset, b)
	runtime.KeepAlive(s)
	return ls
}
