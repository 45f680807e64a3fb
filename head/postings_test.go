package head

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestPostingListAgainstSlice drives a posting list and a plain sorted
// slice with the same inserts (mostly ascending, some out of order, some
// repeated) and deletions, across many blocks, and checks that they always
// hold the same refs and that the list's blocks keep their invariants.
func TestPostingListAgainstSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var l postingList
	var want []model.SeriesRef
	next := model.SeriesRef(1)
	for step := range 20_000 {
		var ref model.SeriesRef
		switch rng.IntN(10) {
		case 0: // an older ref, maybe present
			ref = model.SeriesRef(rng.IntN(int(next)) + 1)
		default:
			next += model.SeriesRef(1 + rng.IntN(3))
			ref = next
		}
		l.insert(ref)
		if i, found := slices.BinarySearch(want, ref); !found {
			want = slices.Insert(want, i, ref)
		}
		if step%5000 == 4999 { // drop about two thirds
			gone := func(r model.SeriesRef) bool { return r%3 != 0 }
			l.deleteWhere(gone)
			want = slices.DeleteFunc(want, gone)
		}
		if step%997 == 0 || step == 19_999 {
			checkPostingList(t, &l, want)
		}
	}
}

func checkPostingList(t *testing.T, l *postingList, want []model.SeriesRef) {
	t.Helper()
	if got := l.appendTo(nil); !slices.Equal(got, want) {
		t.Fatalf("list holds %d refs, want %d (or different ones)", len(got), len(want))
	}
	if l.len() != len(want) {
		t.Fatalf("len() = %d, want %d", l.len(), len(want))
	}
	for i, b := range l.blocks {
		if len(b.offs) == 0 {
			t.Fatalf("block %d is empty", i)
		}
		if !slices.IsSorted(b.offs) {
			t.Fatalf("block %d is not sorted", i)
		}
		if i > 0 && l.blocks[i-1].last() >= b.first() {
			t.Fatalf("block %d starts at %d, not after block %d", i, b.first(), i-1)
		}
	}
}

// TestPostingsMatchAgainstScan indexes series created in an interleaved
// order, once with sorted inserts and once deferred to one sort as WAL
// replay does, removes some, and checks match against a scan of every
// series for equality, regexp and negative matchers.
func TestPostingsMatchAgainstScan(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		syms := newSymbols()
		p := newPostings()
		if deferred {
			p.deferSorting()
		}
		const n = 5000
		series := map[model.SeriesRef]labels.Labels{}
		keep := make([]*memSeries, 0, n)
		var sb labels.ScratchBuilder
		for k := range n {
			// Refs arrive in blocks of ten reversed: not in order.
			ref := model.SeriesRef(k/10*10 + 9 - k%10 + 1)
			lset := targetLabels(&sb, int(ref))
			s := syms.newSeries(ref, 0, lset)
			keep = append(keep, s)
			p.add(ref, s.lset, syms)
			series[ref] = lset
		}
		p.sortAll()
		deleted := map[model.SeriesRef][]string{}
		for ref, lset := range series {
			if ref%7 == 0 {
				var pairs []string
				lset.Range(func(l labels.Label) { pairs = append(pairs, l.Name, l.Value) })
				deleted[ref] = pairs
				delete(series, ref)
			}
		}
		p.remove(deleted)
		for _, ms := range [][]*labels.Matcher{
			{labels.MustNewMatcher(labels.MatchEqual, "job", "api")},
			{labels.MustNewMatcher(labels.MatchEqual, "job", "api"), labels.MustNewMatcher(labels.MatchEqual, "status", "500")},
			{labels.MustNewMatcher(labels.MatchRegexp, "instance", "10.0.0.(1|2).*")},
			{labels.MustNewMatcher(labels.MatchNotEqual, "region", "eu-west-1"), labels.MustNewMatcher(labels.MatchEqual, "env", "staging")},
			{labels.MustNewMatcher(labels.MatchEqual, "job", "nope")},
			{labels.MustNewMatcher(labels.MatchNotEqual, "job", "api")},
		} {
			var want []model.SeriesRef
			for ref, lset := range series {
				ok := true
				for _, m := range ms {
					ok = ok && m.Matches(lset.Get(m.Name))
				}
				if ok {
					want = append(want, ref)
				}
			}
			slices.Sort(want)
			if got := p.match(ms); !slices.Equal(got, want) {
				t.Fatalf("deferred=%v %v: %d refs, want %d", deferred, ms, len(got), len(want))
			}
		}
		if got := len(p.labelValues("instance")); got != n/120+1 {
			t.Fatalf("deferred=%v: %d instance values, want %d", deferred, got, n/120+1)
		}
		runtime.KeepAlive(keep) // their symbol ids stay in use until here
	}
}

// TestPostingListWideRefs inserts refs further apart than a block's 32-bit
// offsets reach, in and out of order: each still lands in order.
func TestPostingListWideRefs(t *testing.T) {
	var l postingList
	var want []model.SeriesRef
	for _, r := range []model.SeriesRef{1, 2, 1 << 33, 5, 1<<32 + 10, 1<<32 + 1, 1 << 40, 1<<33 + 7, 3, 1 << 33} {
		l.insert(r)
		if i, found := slices.BinarySearch(want, r); !found {
			want = slices.Insert(want, i, r)
		}
		checkPostingList(t, &l, want)
	}
	if got := intersectList([]model.SeriesRef{2, 4, 1<<32 + 1, 1 << 33, 1 << 41}, &l); !slices.Equal(got, []model.SeriesRef{2, 1<<32 + 1, 1 << 33}) {
		t.Fatalf("intersectList = %v", got)
	}
}

// TestPostingsFollowReusedIDs replaces every series round after round, so
// that the symbol ids of dropped pods and uids are freed and reused by the
// next round's strings, and checks that the index finds each live series
// by its own pod and uid, and nothing by a dropped round's.
func TestPostingsFollowReusedIDs(t *testing.T) {
	h := openTest(t, nil)
	const n = 400
	for r := range 6 {
		churnRound(t, h, r, n)
		settle(h) // the dropped round's ids are freed: the next round reuses them
		for i := 0; i < n; i += 37 {
			lset := churnLabels(r, i)
			for _, name := range []string{"uid", "pod"} {
				refs := h.index.match([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, name, lset.Get(name))})
				if len(refs) == 0 {
					t.Fatalf("round %d: no series with %s=%q", r, name, lset.Get(name))
				}
				for _, ref := range refs {
					s := h.series.getByRef(ref)
					if s == nil {
						t.Fatalf("round %d: %s=%q matches ref %d, which is gone", r, name, lset.Get(name), ref)
					}
					var b labels.ScratchBuilder
					if got := h.labelsOf(s, &b); got.Get(name) != lset.Get(name) {
						t.Fatalf("round %d: %s=%q matches series %s", r, name, lset.Get(name), got)
					}
				}
			}
			if r > 0 {
				old := churnLabels(r-1, i).Get("uid")
				if refs := h.index.match([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "uid", old)}); len(refs) != 0 {
					t.Fatalf("round %d: dropped uid %q still matches %v", r, old, refs)
				}
			}
		}
	}
}
