package head

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
)

// symbols interns label names and values. A series keeps its labels as pairs
// of symbol ids, so a million series with job="node" hold one copy of "job"
// and one of "node", and each series' label set costs 8 bytes per label.
//
// Reading a symbol by id takes no lock: strings live in fixed-size pages
// that never move, and an id is only ever read after the series holding it
// was published under a stripe lock, which orders the write of the string
// before the read. Symbols are never removed while the head is open: the
// table grows with the number of distinct strings, not with the series.
type symbols struct {
	mu    sync.Mutex
	ids   map[string]uint32 // guarded by mu
	n     uint32            // guarded by mu; symbols stored
	pages atomic.Pointer[[]*symbolPage]
}

const symbolPageBits = 12

type symbolPage [1 << symbolPageBits]string

func newSymbols() *symbols {
	t := &symbols{ids: map[string]uint32{}}
	t.pages.Store(&[]*symbolPage{})
	return t
}

// intern returns the id of s, adding it when new. The stored string is a
// copy, so s may point into a reused request buffer.
func (t *symbols) intern(s string) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[s]; ok {
		return id
	}
	s = string(append([]byte(nil), s...))
	id := t.n
	pages := *t.pages.Load()
	if int(id>>symbolPageBits) == len(pages) {
		grown := append(pages[:len(pages):len(pages)], new(symbolPage))
		t.pages.Store(&grown)
		pages = grown
	}
	pages[id>>symbolPageBits][id&(1<<symbolPageBits-1)] = s
	t.n++
	t.ids[s] = id
	return id
}

// str returns the string of one symbol id. Small enough to inline.
func (t *symbols) str(id uint32) string {
	return (*t.pages.Load())[id>>symbolPageBits][id&(1<<symbolPageBits-1)]
}

// internLabels turns a label set into symbol pairs: name0, value0, name1, ...
func (t *symbols) internLabels(lset labels.Labels) []uint32 {
	ids := make([]uint32, 0, 2*lset.Len())
	lset.Range(func(l labels.Label) {
		ids = append(ids, t.intern(l.Name), t.intern(l.Value))
	})
	return ids
}

// labels rebuilds a label set from symbol pairs.
func (t *symbols) labels(ids []uint32, b *labels.ScratchBuilder) labels.Labels {
	b.Reset()
	pages := *t.pages.Load()
	for i := 0; i+1 < len(ids); i += 2 {
		b.Add(pageStr(pages, ids[i]), pageStr(pages, ids[i+1]))
	}
	return b.Labels()
}

func pageStr(pages []*symbolPage, id uint32) string {
	return pages[id>>symbolPageBits][id&(1<<symbolPageBits-1)]
}

// equal reports whether the symbol pairs spell exactly lset. It runs for
// every sample appended by labels, so it stays lock-free.
func (t *symbols) equal(ids []uint32, lset labels.Labels) bool {
	pages := *t.pages.Load()
	i, eq := 0, true
	lset.Range(func(l labels.Label) {
		if !eq || i+1 >= len(ids) || pageStr(pages, ids[i]) != l.Name || pageStr(pages, ids[i+1]) != l.Value {
			eq = false
		}
		i += 2
	})
	return eq && i == len(ids)
}
