package head

import (
	"math"
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
// full size and never move. 1024 refs are 4 KiB: small next to a list worth
// splitting, and a list's unused tail is at most one block.
const postingBlock = 1024

// postingList is one sorted list of series refs, held as a sequence of
// blocks. Every block is sorted and not empty, and every ref of a block is
// smaller than every ref of the next one. The postings' lock guards it.
type postingList struct {
	blocks []refBlock
	n      int // refs in all blocks; -1 once the list left the index
}

// refBlock holds refs as 32-bit offsets from a base: half the memory of
// 64-bit refs, and every series is in about a dozen lists. A block spans
// less than 1<<32 refs from its base.
type refBlock struct {
	base model.SeriesRef
	offs []uint32 // sorted
}

func (b *refBlock) first() model.SeriesRef { return b.base + model.SeriesRef(b.offs[0]) }
func (b *refBlock) last() model.SeriesRef  { return b.base + model.SeriesRef(b.offs[len(b.offs)-1]) }

// fits reports whether ref may be stored in b as an offset.
func (b *refBlock) fits(ref model.SeriesRef) bool {
	return ref >= b.base && ref-b.base <= math.MaxUint32
}

// len returns the number of refs in the list.
func (l *postingList) len() int { return max(l.n, 0) }

// drop marks an empty list removed from the index: it is never added to
// again (see postings.byValue).
func (l *postingList) drop() { l.n = -1 }

// dropped reports whether drop was called.
func (l *postingList) dropped() bool { return l.n < 0 }

// push appends ref without looking at order: the caller either knows ref is
// larger than every ref in the list, or sorts the list later (sortDeferred).
func (l *postingList) push(ref model.SeriesRef) {
	if n := len(l.blocks); n > 0 {
		b := &l.blocks[n-1]
		if (len(b.offs) < postingBlock || len(b.offs) < cap(b.offs)) && b.fits(ref) {
			b.offs = append(b.offs, uint32(ref-b.base))
			l.n++
			return
		}
	}
	c := postingBlock
	if len(l.blocks) == 0 {
		c = 1 // the first block grows as needed: most lists are short
	}
	b := refBlock{base: ref, offs: make([]uint32, 1, c)}
	l.blocks = append(l.blocks, b)
	l.n++
}

// insert adds ref in order, unless it is present already. Refs are handed
// out in increasing order, so this is nearly always push.
func (l *postingList) insert(ref model.SeriesRef) {
	n := len(l.blocks)
	if n == 0 || l.blocks[n-1].last() < ref {
		l.push(ref)
		return
	}
	// The first block whose last ref is not smaller than ref is the only
	// one that may hold it.
	bi, _ := slices.BinarySearchFunc(l.blocks, ref, func(b refBlock, r model.SeriesRef) int {
		return cmpRef(b.last(), r)
	})
	b := &l.blocks[bi]
	if !b.fits(ref) { // ref lies before the block's base
		if bi > 0 && l.blocks[bi-1].fits(ref) {
			b = &l.blocks[bi-1] // after that block's last ref
		} else {
			l.blocks = slices.Insert(l.blocks, bi, refBlock{base: ref, offs: []uint32{0}})
			l.n++
			return
		}
	}
	off := uint32(ref - b.base)
	i, found := slices.BinarySearch(b.offs, off)
	if found {
		return
	}
	b.offs = slices.Insert(b.offs, i, off)
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
	dst = slices.Grow(dst, l.len())
	for _, b := range l.blocks {
		for _, o := range b.offs {
			dst = append(dst, b.base+model.SeriesRef(o))
		}
	}
	return dst
}

// deleteWhere removes the refs for which gone is true, and gives memory back
// when that left much of it unused (see compacted).
func (l *postingList) deleteWhere(gone func(model.SeriesRef) bool) {
	kept := l.blocks[:0]
	l.n = 0
	for _, b := range l.blocks {
		b.offs = slices.DeleteFunc(b.offs, func(o uint32) bool { return gone(b.base + model.SeriesRef(o)) })
		if len(b.offs) > 0 {
			kept = append(kept, b)
			l.n += len(b.offs)
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
		capacity += cap(b.offs)
	}
	if capacity-l.n <= max(capacity/2, postingBlock) {
		return
	}
	l.rebuild(l.appendTo(nil))
}

// rebuild replaces the blocks by the sorted refs, cut into full blocks.
func (l *postingList) rebuild(refs []model.SeriesRef) {
	l.blocks, l.n = nil, 0
	for _, r := range refs {
		l.push(r)
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
		for bi < len(l.blocks) && l.blocks[bi].last() < r {
			bi, j = bi+1, 0 // the whole block is below r
		}
		if bi == len(l.blocks) {
			break
		}
		b := &l.blocks[bi]
		if r < b.base {
			continue
		}
		o := uint32(r - b.base) // fits: r is at most the block's last ref
		for b.offs[j] < o {     // stops: the block's last offset is not below o
			j++
		}
		if b.offs[j] == o {
			out = append(out, r)
		}
	}
	return out
}
