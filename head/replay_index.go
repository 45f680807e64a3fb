package head

import (
	"runtime"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// indexedSeries is a series created by the replay, for the index.
type indexedSeries struct {
	ref model.SeriesRef
	ids []uint32 // the series' symbol pairs (memSeries.lset)
}

// indexBatch is how many created series a replay worker gathers before it
// hands them to the index builder.
const indexBatch = 4096

// indexBuilder builds the postings of the replayed series on a goroutine of
// its own, beside the workers that create them: nothing reads the postings
// before the replay ends, so the index need only be complete then (finish),
// and creating a series takes no index lock.
//
// It keys its lists by symbol ids (name id, value id) rather than by
// strings, which hashes a word instead of two strings per label, and moves
// them into the head's postings at the end, sorted.
type indexBuilder struct {
	h    *Head
	in   chan []indexedSeries
	done chan struct{}
	// keys maps a label pair, name id << 32 | value id, to its list in
	// lists, and lists holds the refs of each pair in arrival order.
	keys  map[uint64]int32
	lists [][]model.SeriesRef
	all   []model.SeriesRef
}

func newIndexBuilder(h *Head) *indexBuilder {
	b := &indexBuilder{h: h, in: make(chan []indexedSeries, 16), done: make(chan struct{}), keys: map[uint64]int32{}}
	go b.run()
	return b
}

// send hands a batch to the builder; the caller must not use it afterwards.
func (b *indexBuilder) send(batch []indexedSeries) { b.in <- batch }

func (b *indexBuilder) run() {
	defer close(b.done)
	// Series arrive grouped by scrape target, so the pair at one label
	// position is mostly the one of the series before: remember it.
	var last []lastPair
	for batch := range b.in {
		for _, s := range batch {
			for i := 0; i+1 < len(s.ids); i += 2 {
				k := uint64(s.ids[i])<<32 | uint64(s.ids[i+1])
				if i/2 >= len(last) {
					last = append(last, lastPair{key: k, list: b.list(k)})
				} else if last[i/2].key != k {
					last[i/2].key, last[i/2].list = k, b.list(k)
				}
				l := last[i/2].list
				b.lists[l] = append(b.lists[l], s.ref)
			}
			b.all = append(b.all, s.ref)
		}
	}
}

// lastPair is the pair an index builder saw last at one label position.
type lastPair struct {
	key  uint64
	list int32
}

// list returns the index in b.lists of the list of pair k, adding it when
// new.
func (b *indexBuilder) list(k uint64) int32 {
	if l, ok := b.keys[k]; ok {
		return l
	}
	l := int32(len(b.lists))
	b.keys[k] = l
	b.lists = append(b.lists, nil)
	return l
}

// finish waits for every batch sent, then sorts the lists on every core
// and adds them to the head's postings. No batch may be sent afterwards.
func (b *indexBuilder) finish() {
	close(b.in)
	<-b.done
	keys := make([]uint64, len(b.lists))
	for k, l := range b.keys {
		keys[l] = k
	}
	sorted := make([][]model.SeriesRef, len(keys))
	workers := max(runtime.GOMAXPROCS(0), 1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(keys); i += workers {
				sorted[i] = sortRefs(b.lists[i])
			}
			if w == 0 {
				b.all = sortRefs(b.all)
			}
		}()
	}
	wg.Wait()
	b.install(keys, sorted)
	b.keys, b.lists, b.all = nil, nil, nil
}

// sortRefs sorts and deduplicates a list in place. Workers create series
// in WAL order, so most lists arrive nearly sorted.
func sortRefs(l []model.SeriesRef) []model.SeriesRef {
	if !slices.IsSorted(l) {
		slices.Sort(l)
	}
	return slices.Compact(l)
}

// install adds sorted lists to the head's postings, merging with any list
// already there (the head's postings are empty before a replay, so nearly
// never).
func (b *indexBuilder) install(keys []uint64, sorted [][]model.SeriesRef) {
	p, syms := b.h.index, b.h.syms
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, k := range keys {
		name, value := syms.str(uint32(k>>32)), syms.str(uint32(k))
		vals := p.m[name]
		if vals == nil {
			vals = map[string][]model.SeriesRef{}
			p.m[name] = vals
		}
		if old := vals[value]; len(old) > 0 {
			sorted[i] = mergeRefs(old, sorted[i])
		}
		vals[value] = sorted[i]
	}
	p.all = mergeRefs(p.all, b.all)
}

// mergeRefs returns the sorted union of two sorted lists.
func mergeRefs(a, b []model.SeriesRef) []model.SeriesRef {
	if len(a) == 0 {
		return b
	}
	out := append(slices.Clip(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// storeReplayed stores a replayed series s, made by symbols.newSeries for
// hash and lset, unless one with the same labels exists, which it returns
// instead, and counts it with the limiter. It is insertSeries without
// making the series (the replay's reader does), the index (the replay's
// indexBuilder adds the series) and the series gauge (the worker adds its
// batch): safe for concurrent use like insertSeries.
func (h *Head) storeReplayed(hash uint64, lset labels.Labels, s *memSeries) (*memSeries, bool) {
	s, created := h.series.getOrSet(hash, lset, s, h.syms)
	if created {
		h.opts.Limiter.AddSeries(lset)
	}
	return s, created
}
