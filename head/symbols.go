package head

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"
)

// symbols interns label names and values. A series keeps its labels as pairs
// of symbol ids, so a million series with job="node" hold one copy of "job"
// and one of "node", and each series' label set costs 8 bytes per label.
//
// Symbols are never removed while the head is open: the table grows with the
// number of distinct strings, not with the number of series.
type symbols struct {
	mu    sync.RWMutex
	ids   map[string]uint32 // guarded by mu
	names []string          // guarded by mu; id → string
}

func newSymbols() *symbols {
	return &symbols{ids: map[string]uint32{}}
}

// intern returns the id of s, adding it when new. The stored string is a
// copy, so s may point into a reused request buffer.
func (t *symbols) intern(s string) uint32 {
	t.mu.RLock()
	id, ok := t.ids[s]
	t.mu.RUnlock()
	if ok {
		return id
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[s]; ok {
		return id
	}
	s = string(append([]byte(nil), s...))
	id = uint32(len(t.names))
	t.names = append(t.names, s)
	t.ids[s] = id
	return id
}

// lookup returns the id of s and whether it is known, without adding it.
func (t *symbols) lookup(s string) (uint32, bool) {
	t.mu.RLock()
	id, ok := t.ids[s]
	t.mu.RUnlock()
	return id, ok
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
	t.mu.RLock()
	for i := 0; i+1 < len(ids); i += 2 {
		b.Add(t.names[ids[i]], t.names[ids[i+1]])
	}
	t.mu.RUnlock()
	return b.Labels()
}

// equal reports whether the symbol pairs spell exactly lset.
func (t *symbols) equal(ids []uint32, lset labels.Labels) bool {
	if len(ids) != 2*lset.Len() {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	i, eq := 0, true
	lset.Range(func(l labels.Label) {
		if eq && (t.names[ids[i]] != l.Name || t.names[ids[i+1]] != l.Value) {
			eq = false
		}
		i += 2
	})
	return eq
}

// str returns the string of one symbol id.
func (t *symbols) str(id uint32) string {
	t.mu.RLock()
	s := t.names[id]
	t.mu.RUnlock()
	return s
}
