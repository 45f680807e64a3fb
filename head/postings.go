package head

import (
	"slices"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// postings is the inverted index: for every label name and value, the sorted
// refs of the series carrying that pair. Keys are the interned strings of the
// symbol table, so the index adds no copies of label strings.
type postings struct {
	mu  sync.RWMutex
	m   map[string]map[string][]model.SeriesRef // guarded by mu
	all []model.SeriesRef                       // guarded by mu; every series, sorted
	// unsorted is set during WAL replay: lists are appended to and sorted
	// once at the end (see deferSorting).
	unsorted bool // guarded by mu
	// Deletions since the last rebuild (see rebuildDue): of values from
	// each m[name], and of names from m.
	valuesDeleted map[string]int // guarded by mu
	namesDeleted  int            // guarded by mu
}

func newPostings() *postings {
	return &postings{m: map[string]map[string][]model.SeriesRef{}, valuesDeleted: map[string]int{}}
}

// insertSorted adds ref to a sorted list. Refs are handed out in increasing
// order, so this is nearly always an append.
func insertSorted(list []model.SeriesRef, ref model.SeriesRef) []model.SeriesRef {
	n := len(list)
	if n == 0 || list[n-1] < ref {
		return append(list, ref)
	}
	i, found := slices.BinarySearch(list, ref)
	if found {
		return list
	}
	return slices.Insert(list, i, ref)
}

// add indexes a series under each of its label pairs (given as strings of
// the symbol table).
func (p *postings) add(ref model.SeriesRef, pairs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	insert := insertSorted
	if p.unsorted {
		insert = appendRef
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		vals := p.m[pairs[i]]
		if vals == nil {
			vals = map[string][]model.SeriesRef{}
			p.m[pairs[i]] = vals
		}
		vals[pairs[i+1]] = insert(vals[pairs[i+1]], ref)
	}
	p.all = insert(p.all, ref)
}

func appendRef(list []model.SeriesRef, ref model.SeriesRef) []model.SeriesRef {
	return append(list, ref)
}

// deferSorting makes add append without keeping lists sorted, until
// sortAll: WAL replay creates series in log order, which is not ref order
// when commits interleaved, and inserting each into place moved large
// lists. Nothing may read the postings meanwhile.
func (p *postings) deferSorting() {
	p.mu.Lock()
	p.unsorted = true
	p.mu.Unlock()
}

// sortAll sorts every list once and returns add to sorted inserts.
func (p *postings) sortAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.unsorted {
		return
	}
	p.unsorted = false
	for _, vals := range p.m {
		for v, l := range vals {
			slices.Sort(l)
			vals[v] = slices.Compact(l)
		}
	}
	slices.Sort(p.all)
	p.all = slices.Compact(p.all)
}

// remove deletes a batch of series. Each affected list is filtered once, so
// dropping many series of one large list costs one pass over it.
func (p *postings) remove(deleted map[model.SeriesRef][]string) {
	if len(deleted) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	type key struct{ name, value string }
	touched := map[key]struct{}{}
	for _, pairs := range deleted {
		for i := 0; i+1 < len(pairs); i += 2 {
			touched[key{pairs[i], pairs[i+1]}] = struct{}{}
		}
	}
	gone := func(r model.SeriesRef) bool { _, ok := deleted[r]; return ok }
	for k := range touched {
		vals := p.m[k.name]
		list := slices.DeleteFunc(vals[k.value], gone)
		if len(list) == 0 {
			delete(vals, k.value)
			p.valuesDeleted[k.name]++
			continue
		}
		vals[k.value] = shrunk(list)
	}
	p.all = shrunk(slices.DeleteFunc(p.all, gone))
	p.compact()
}

// compact drops the names left without values and rebuilds the maps that
// deletions made due for it. The caller holds mu.
func (p *postings) compact() {
	for name, n := range p.valuesDeleted {
		vals := p.m[name]
		switch {
		case len(vals) == 0:
			delete(p.m, name)
			delete(p.valuesDeleted, name)
			p.namesDeleted++
		case rebuildDue(n, len(vals)):
			p.m[name] = rebuilt(vals)
			delete(p.valuesDeleted, name)
		}
	}
	if rebuildDue(p.namesDeleted, len(p.m)) {
		p.m, p.namesDeleted = rebuilt(p.m), 0
	}
}

// match returns the sorted refs of the series that satisfy all matchers.
//
// A matcher that does not match the empty string selects the union of the
// lists of the values it matches, and those sets are intersected. A matcher
// that matches the empty string also selects series without the label, so it
// subtracts the series whose value it rejects. With no selecting matcher the
// result starts from every series.
func (p *postings) match(ms []*labels.Matcher) []model.SeriesRef {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var sel, sub [][]model.SeriesRef
	for _, m := range ms {
		vals := p.m[m.Name]
		if m.Matches("") {
			sub = append(sub, unionWhere(vals, func(v string) bool { return !m.Matches(v) }))
			continue
		}
		if m.Type == labels.MatchEqual {
			sel = append(sel, vals[m.Value])
			continue
		}
		sel = append(sel, unionWhere(vals, m.Matches))
	}
	var out []model.SeriesRef
	if len(sel) == 0 {
		out = slices.Clone(p.all)
	} else {
		sort.Slice(sel, func(i, j int) bool { return len(sel[i]) < len(sel[j]) })
		out = slices.Clone(sel[0])
		for _, l := range sel[1:] {
			out = intersectSorted(out, l)
		}
	}
	for _, l := range sub {
		out = subtract(out, l)
	}
	return out
}

// unionWhere merges the lists of the values for which keep is true.
func unionWhere(vals map[string][]model.SeriesRef, keep func(string) bool) []model.SeriesRef {
	var out []model.SeriesRef
	lists := 0
	for v, l := range vals {
		if keep(v) {
			out = append(out, l...)
			lists++
		}
	}
	if lists > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// intersect keeps in a (in place) the refs also in b. Both are sorted.
func intersect(a, b []model.SeriesRef) []model.SeriesRef {
	out := a[:0]
	j := 0
	for _, r := range a {
		for j < len(b) && b[j] < r {
			j++
		}
		if j < len(b) && b[j] == r {
			out = append(out, r)
		}
	}
	return out
}

// subtract removes from a (in place) the refs in b. Both are sorted.
func subtract(a, b []model.SeriesRef) []model.SeriesRef {
	out := a[:0]
	j := 0
	for _, r := range a {
		for j < len(b) && b[j] < r {
			j++
		}
		if j < len(b) && b[j] == r {
			continue
		}
		out = append(out, r)
	}
	return out
}

// labelNames returns every label name, sorted.
func (p *postings) labelNames() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]string, 0, len(p.m))
	for n := range p.m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// labelValues returns every value of a label name, sorted.
func (p *postings) labelValues(name string) []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	vals := p.m[name]
	out := make([]string, 0, len(vals))
	for v := range vals {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
