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
	m   map[string]map[string]*postingList // guarded by mu
	all postingList                        // guarded by mu; every series
	// unsorted is set during WAL replay: lists are appended to and sorted
	// once at the end (see deferSorting).
	unsorted bool // guarded by mu
	// Deletions since the last rebuild (see rebuildDue): of values from
	// each m[name], and of names from m.
	valuesDeleted map[string]int // guarded by mu
	namesDeleted  int            // guarded by mu
	// byValue remembers, per symbol id of a label value, the list a series
	// was last added to under that value and the id of its name, so that
	// add finds a series' lists without hashing its strings. An entry is
	// used only while its list is in the index (not dropped): the ids of
	// a list's pair cannot be freed and reused meanwhile, since a series
	// holding them is still indexed or, during dropSeries, still held.
	byValue []valueList // guarded by mu
}

// valueList is one entry of postings.byValue.
type valueList struct {
	list *postingList
	name uint32
}

func newPostings() *postings {
	return &postings{m: map[string]map[string]*postingList{}, valuesDeleted: map[string]int{}}
}

// add indexes a series under each of its label pairs, given as the symbol
// pairs of syms (memSeries.lset): the keys are the table's own strings,
// read without building a slice of them. The caller keeps the series alive
// during the call (see symbols).
func (p *postings) add(ref model.SeriesRef, ids symRefs, syms *symbols) {
	pages := *syms.pages.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	insert := (*postingList).insert
	if p.unsorted {
		insert = (*postingList).push
	}
	for i := 0; i < len(ids); {
		var n, v uint32
		n, i = ids.at(i)
		v, i = ids.at(i)
		if int(v) < len(p.byValue) {
			if e := p.byValue[v]; e.name == n && e.list != nil && !e.list.dropped() {
				insert(e.list, ref)
				continue
			}
		}
		l := p.list(pageStr(pages, n), pageStr(pages, v))
		insert(l, ref)
		if int(v) >= len(p.byValue) {
			p.byValue = append(p.byValue, make([]valueList, int(v)+1-len(p.byValue))...)
		}
		p.byValue[v] = valueList{list: l, name: n}
	}
	insert(&p.all, ref)
}

// list returns the list of a label pair, creating it. The caller holds mu.
func (p *postings) list(name, value string) *postingList {
	vals := p.m[name]
	if vals == nil {
		vals = map[string]*postingList{}
		p.m[name] = vals
	}
	l := vals[value]
	if l == nil {
		l = &postingList{}
		vals[value] = l
	}
	return l
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
		for _, l := range vals {
			l.sortDeferred()
		}
	}
	p.all.sortDeferred()
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
		l := vals[k.value]
		if l == nil {
			continue
		}
		if l.deleteWhere(gone); l.len() == 0 {
			delete(vals, k.value)
			l.drop()
			p.valuesDeleted[k.name]++
		}
	}
	p.all.deleteWhere(gone)
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
	var lists []*postingList
	var flats, sub [][]model.SeriesRef
	for _, m := range ms {
		vals := p.m[m.Name]
		if m.Matches("") {
			sub = append(sub, unionWhere(vals, func(v string) bool { return !m.Matches(v) }))
			continue
		}
		if m.Type == labels.MatchEqual {
			l := vals[m.Value]
			if l == nil {
				return nil // no series has the pair
			}
			lists = append(lists, l)
			continue
		}
		flats = append(flats, unionWhere(vals, m.Matches))
	}
	out := p.intersection(lists, flats)
	for _, l := range sub {
		out = subtract(out, l)
	}
	return out
}

// intersection returns the refs in all lists and all flats (sorted
// slices the caller gives up), or every ref when there are none. It starts
// from the shortest, so the result never grows past it.
func (p *postings) intersection(lists []*postingList, flats [][]model.SeriesRef) []model.SeriesRef {
	if len(lists)+len(flats) == 0 {
		return p.all.appendTo(nil)
	}
	sort.Slice(lists, func(i, j int) bool { return lists[i].len() < lists[j].len() })
	sort.Slice(flats, func(i, j int) bool { return len(flats[i]) < len(flats[j]) })
	var out []model.SeriesRef
	if len(flats) > 0 && (len(lists) == 0 || len(flats[0]) < lists[0].len()) {
		out, flats = flats[0], flats[1:]
	} else {
		out, lists = lists[0].appendTo(nil), lists[1:]
	}
	for _, l := range lists {
		out = intersectList(out, l)
	}
	for _, f := range flats {
		out = intersect(out, f)
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

// unionWhere merges the lists of the values for which keep is true.
func unionWhere(vals map[string]*postingList, keep func(string) bool) []model.SeriesRef {
	var out []model.SeriesRef
	lists := 0
	for v, l := range vals {
		if keep(v) {
			out = l.appendTo(out)
			lists++
		}
	}
	if lists > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
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
