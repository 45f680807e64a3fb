package head

import "math/bits"

// seriesTable finds the series of one stripe by label hash. It is an
// open-addressing table with linear probing: a lookup reads one slot (hash
// and pointer side by side) where a Go map of slices would follow three
// pointers, and at a million series those cache misses are most of the cost
// of an append by labels. Series whose hashes collide take neighbouring
// slots. The stripe's lock guards it.
type seriesTable struct {
	slots []tableSlot // empty, or a power of two long
	n     int         // slots in use
}

// tableSlot is one slot; s == nil marks it empty.
type tableSlot struct {
	hash uint64
	s    *memSeries
}

// home returns the slot where a hash starts probing. Its top bits are
// used: the low bits chose the stripe and are the same for every series in
// it.
func (t *seriesTable) home(hash uint64) int {
	return int(hash >> (64 - bits.TrailingZeros(uint(len(t.slots)))))
}

// find returns the series with hash for which match is true, or nil.
func (t *seriesTable) find(hash uint64, match func(*memSeries) bool) *memSeries {
	if len(t.slots) == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(hash); ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.s == nil {
			return nil
		}
		if sl.hash == hash && match(sl.s) {
			return sl.s
		}
	}
}

// insert adds s, growing the table to keep it at most three quarters full.
func (t *seriesTable) insert(hash uint64, s *memSeries) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	mask := len(t.slots) - 1
	i := t.home(hash)
	for t.slots[i].s != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = tableSlot{hash: hash, s: s}
	t.n++
}

func (t *seriesTable) grow() {
	old := t.slots
	t.slots = make([]tableSlot, max(8, 2*len(old)))
	t.n = 0
	for _, sl := range old {
		if sl.s != nil {
			t.insert(sl.hash, sl.s)
		}
	}
}

// remove deletes s and moves later entries of its probe run back, so that
// no lookup stops early at the hole (no tombstones).
func (t *seriesTable) remove(hash uint64, s *memSeries) {
	if len(t.slots) == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(hash)
	for t.slots[i].s != s {
		if t.slots[i].s == nil {
			return
		}
		i = (i + 1) & mask
	}
	t.slots[i] = tableSlot{}
	t.n--
	for j := (i + 1) & mask; t.slots[j].s != nil; j = (j + 1) & mask {
		k := t.home(t.slots[j].hash)
		// Move the entry at j into the hole at i unless its home lies in
		// the cyclic range (i, j]: then it is still reachable.
		if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			t.slots[i], t.slots[j] = t.slots[j], tableSlot{}
			i = j
		}
	}
}
