package head

import (
	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// LookupPairs returns the ref of the series whose label set is exactly ls,
// or 0 when the head holds no such series. ls must be a label set as
// labels.New builds it: sorted by name, no name twice, no empty value. It
// creates nothing and never fails; 0 only means "look the series up by its
// labels": Append(0, lset, ...) then finds or creates it.
//
// It is the steady-state path of a write request: the series exists, and
// finding it this way builds no labels.Labels, hashes ls in one pass and
// compares the stored symbols in place. The series found is remembered, so
// that the next Append, AppendHistogram or AppendExemplar with its ref
// takes it without another lookup, lset then being ignored.
func (a *Appender) LookupPairs(ls []labels.Label) model.SeriesRef {
	if len(ls) == 0 {
		return 0
	}
	a.use()
	hash, ok := hashPairs(&a.pairBuf, ls)
	if !ok {
		return 0
	}
	s := a.h.series.getByPairs(hash, ls, a.h.syms)
	if s == nil {
		a.missed, a.missHash = true, hash
		return 0
	}
	a.missed = false
	a.last = s
	return s.ref
}

// maxPairString is the longest name or value hashPairs encodes: the label
// set layout has no size prefix for longer strings.
const maxPairString = 1 << 24

// hashPairs returns the hash model.Hash gives the label set of ls, using
// *buf as scratch space. It lays ls out as the labels package does
// (stringlabels: each string after its size, one byte below 255, else 255
// and three bytes little-endian) and hashes that with xxhash, in one pass
// and without building the label set. ok is false for a string too long
// for the layout; TestHashPairs pins the agreement with model.Hash.
func hashPairs(buf *[]byte, ls []labels.Label) (hash uint64, ok bool) {
	b := (*buf)[:0]
	for i := range ls {
		if len(ls[i].Name) >= maxPairString || len(ls[i].Value) >= maxPairString {
			return 0, false
		}
		b = appendPairString(b, ls[i].Name)
		b = appendPairString(b, ls[i].Value)
	}
	*buf = b
	return xxhash.Sum64(b), true
}

// appendPairString appends s after its size prefix. Small enough to inline.
func appendPairString(b []byte, s string) []byte {
	if n := len(s); n < 255 {
		b = append(b, byte(n))
	} else {
		b = append(b, 255, byte(n), byte(n>>8), byte(n>>16))
	}
	return append(b, s...)
}

// getByPairs returns the series whose symbol pairs spell exactly ls, or nil.
func (ss *stripeSet) getByPairs(hash uint64, ls []labels.Label, syms *symbols) *memSeries {
	st := ss.hashStripe(hash)
	st.mu.RLock()
	s := st.byHash.find(hash, func(s *memSeries) bool { return syms.equalPairs(s.lset, ls) })
	st.mu.RUnlock()
	return s
}

// equalPairs reports whether the symbol pairs ids spell exactly ls. Like
// equal it takes no lock; it walks the two side by side without decoding a
// label set.
func (t *symbols) equalPairs(ids symRefs, ls []labels.Label) bool {
	pages := *t.pages.Load()
	i := 0
	for k := range ls {
		if i >= len(ids) {
			return false
		}
		var n, v uint32
		n, i = ids.at(i)
		v, i = ids.at(i) // a name is always followed by its value
		if pageStr(pages, v) != ls[k].Value || pageStr(pages, n) != ls[k].Name {
			return false
		}
	}
	return i == len(ids)
}
