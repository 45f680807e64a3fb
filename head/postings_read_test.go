package head

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestIntersectSortedAsWalk compares the searching intersection with the
// walking one on random sorted lists of very different lengths.
func TestIntersectSortedAsWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	list := func(n, span int) []model.SeriesRef {
		l := make([]model.SeriesRef, n)
		for i := range l {
			l[i] = model.SeriesRef(rng.IntN(span))
		}
		slices.Sort(l)
		return slices.Compact(l)
	}
	for range 500 {
		span := 1 + rng.IntN(100_000)
		a, b := list(rng.IntN(50), span), list(rng.IntN(20_000), span)
		if rng.IntN(4) == 0 && len(b) > 0 {
			a = append(a[:0:0], b[rng.IntN(len(b))]) // one ref known to be in b
		}
		want := intersect(slices.Clone(a), b)
		got := intersectSorted(slices.Clone(a), b)
		if !slices.Equal(got, want) {
			t.Fatalf("intersect(%v, %d refs) = %v, want %v", a, len(b), got, want)
		}
	}
}

// BenchmarkIntersect intersects 120 refs (one target's series) with a
// list of 900k (a label most series share), walking and searching.
//
//	go test -run='^$' -bench=Intersect ./head/
func BenchmarkIntersect(b *testing.B) {
	big := make([]model.SeriesRef, 900_000)
	for i := range big {
		big[i] = model.SeriesRef(i + i/9) // 9 of every 10 refs
	}
	small := make([]model.SeriesRef, 120)
	for i := range small {
		small[i] = model.SeriesRef(500_000 + i)
	}
	for _, c := range []struct {
		name string
		f    func(a, b []model.SeriesRef) []model.SeriesRef
	}{{"walk", intersect}, {"search", intersectSorted}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]model.SeriesRef, len(small))
			for b.Loop() {
				copy(buf, small)
				if len(c.f(buf, big)) == 0 {
					b.Fatal("empty intersection")
				}
			}
		})
	}
}
