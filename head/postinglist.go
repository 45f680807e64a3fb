package head

import (
	"slices"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// postingBlock is the number of refs a block of a posting list is allocated
// for once the list outgrows its first block.
//
// A list kept as one slice copies itself whenever it outgrows its capacity:
// the list of a label value shared by a million series is copied a dozen
// times on its way there, and those copies were most of the bytes that
// creating a series allocated (and so most of the collector's work). A list
// of blocks copies at most its first block: later blocks are allocated at
// full size and never move. 1024 refs are 8 KiB: small next to a list worth
// splitting, and a list's unused tail is at most one block.
const postingBlock = 1024

// postingList is one sorted list of series refs, held as a sequence of
// blocks. Every block is sorted and not empty, and every ref of a block is
// smaller than every ref of the next one. The postings' lock guards it.
type postingList struct {
	blocks [][]model.SeriesRef
	n      int // refs in all blocks
}

// flatList wraps a sorted slice as a list of one block, without copying.
func flatList(refs []model.SeriesRef) *postingList {
	if len(refs) == 0 {
		return &postingList{}
	}
	return &postingList{blocks: [][]model.SeriesRef{refs}, n: len(refs)}
}

// len returns the number of refs in the list.
func (l *postingList) len() int { return l.n }

// push appends ref without looking at order: the caller either knows ref is
// larger than every ref in the list, or sorts the list later (sortDeferred).
func (l *postingList) push(ref model.SeriesRef) {
	if n := len(l.blocks); n > 0 {
		last := l.blocks[n-1]
		if len(last) < postingBlock || len(last) < cap(last) {
			l.blocks[n-1] = append(last, ref)
			l.n++
			return
		}
	}
	b := make([]model.SeriesRef, 1, postingBlock)
	if len(l.blocks) == 0 {
		b = make([]model.SeriesRef, 1) // the first block grows as needed
	}
	b[0] = ref
	l.blocks = append(l.blocks, b)
	l.n++
}

// insert adds ref in order, unless it is present already. Refs are handed
// out in increasing order, so this is nearly always push.
func (l *postingList) insert(ref model.SeriesRef) {
	n := len(l.blocks)
	if n == 0 || l.blocks[n-1][len(l.blocks[n-1])-1] < ref {
		l.push(ref)
		return
	}
	// The first block whose last ref is not smaller than ref is the only
	// one that may hold it, and where it goes.
	bi, _ := slices.BinarySearchFunc(l.blocks, ref, func(b []model.SeriesRef, r model.SeriesRef) int {
		return cmpRef(b[len(b)-1], r)
	})
	i, found := slices.BinarySearch(l.blocks[bi], ref)
	if found {
		return
	}
	l.blocks[bi] = slices.Insert(l.blocks[bi], i, ref)
	l.n++
}

func cmpRef(a, b model.SeriesRef) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendTo appends every ref of the list to dst, in order.
func (l *postingList) appendTo(dst []model.SeriesRef) []model.SeriesRef {
	dst = slices.Grow(dst, l.n)
	for _, b := range l.blocks {
		dst = append(dst, b...)
	}
	return dst
}

// deleteWhere removes the refs for which gone is true, and gives memory back
// when that left much of it unused (see compacted).
func (l *postingList) deleteWhere(gone func(model.SeriesRef) bool) {
	kept := l.blocks[:0]
	l.n = 0
	for _, b := range l.blocks {
		if b = slices.DeleteFunc(b, gone); len(b) > 0 {
			kept = append(kept, b)
			l.n += len(b)
		}
	}
	clear(l.blocks[len(kept):])
	l.blocks = kept
	l.compacted()
}

// compacted rewrites the list into tight blocks when its blocks' capacity
// is more than about half unused, as deletions leave it.
func (l *postingList) compacted() {
	capacity := 0
	for _, b := range l.blocks {
		capacity += cap(b)
	}
	if capacity-l.n <= max(capacity/2, postingBlock) {
		return
	}
	l.rebuild(l.appendTo(nil))
}

// rebuild replaces the blocks by the sorted refs, cut into full blocks.
func (l *postingList) rebuild(refs []model.SeriesRef) {
	l.blocks, l.n = nil, len(refs)
	for len(refs) > 0 {
		k := min(len(refs), postingBlock)
		l.blocks = append(l.blocks, refs[:k:k])
		refs = refs[k:]
	}
}

// sortDeferred sorts a list filled by push in any order and drops
// duplicates.
func (l *postingList) sortDeferred() {
	refs := l.appendTo(nil)
	slices.Sort(refs)
	l.rebuild(slices.Compact(refs))
}

// intersectList keeps in a (in place) the refs also in l. a is sorted.
func intersectList(a []model.SeriesRef, l *postingList) []model.SeriesRef {
	out := a[:0]
	bi, j := 0, 0
	for _, r := range a {
		for bi < len(l.blocks) && l.blocks[bi][len(l.blocks[bi])-1] < r {
			bi, j = bi+1, 0 // the whole block is below r
		}
		if bi == len(l.blocks) {
			break
		}
		b := l.blocks[bi]
		for b[j] < r { // stops: the block's last ref is not below r
			j++
		}
		if b[j] == r {
			out = append(out, r)
		}
	}
	return out
}
