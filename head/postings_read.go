package head

import (
	"slices"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// gallopRatio is how much longer b must be than a for intersectSorted to
// search b rather than walk it.
const gallopRatio = 16

// intersectSorted keeps in a (in place) the refs also in b; both are
// sorted. A selection's first list is its shortest, often a handful of
// refs, and b the union of a regular expression's lists, which may hold a
// million: walking b would cost its length for each matcher, so b is
// searched, from where the last search stopped, in O(len(a) log len(b)).
func intersectSorted(a, b []model.SeriesRef) []model.SeriesRef {
	if len(b) < gallopRatio*len(a) {
		return intersect(a, b)
	}
	out := a[:0]
	for _, r := range a {
		j, found := slices.BinarySearch(b, r)
		if found {
			out = append(out, r)
			j++
		}
		b = b[j:]
		if len(b) == 0 {
			break
		}
	}
	return out
}
