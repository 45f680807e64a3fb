package head

import (
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestRefTable checks the table against a map under random stores and
// removals of dense refs, refs far beyond the pages and refs of pages
// emptied and made again.
func TestRefTable(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	tab := newRefTable()
	want := map[model.SeriesRef]*memSeries{}
	refOf := func() model.SeriesRef {
		switch rng.Intn(10) {
		case 0:
			return maxPagedRef + model.SeriesRef(rng.Intn(100))
		case 1:
			return model.SeriesRef(rng.Int63())
		default:
			return model.SeriesRef(rng.Intn(5 * refPageLen))
		}
	}
	for range 50_000 {
		ref := refOf()
		if s := want[ref]; s != nil && rng.Intn(2) == 0 {
			tab.remove(s)
			delete(want, ref)
		} else if s == nil {
			s = &memSeries{ref: ref}
			tab.set(s)
			want[ref] = s
		} else {
			// A stale series under the same ref is not removed.
			tab.remove(&memSeries{ref: ref})
		}
		require.Equal(t, want[ref], tab.get(ref))
	}
	got := map[model.SeriesRef]*memSeries{}
	tab.forEach(func(s *memSeries) { got[s.ref] = s })
	require.Equal(t, want, got)
	for ref, s := range want {
		require.Same(t, s, tab.get(ref))
	}
	for _, s := range want {
		tab.remove(s)
	}
	for _, p := range *tab.pages.Load() {
		require.Nil(t, p, "an emptied page is dropped")
	}
	require.Empty(t, tab.far)
}

// TestRefTableConcurrent reads refs while others are stored and removed
// (run it with -race): a reader finds each series it was told was stored.
func TestRefTableConcurrent(t *testing.T) {
	tab := newRefTable()
	const writers, per = 4, 3 * refPageLen
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				s := &memSeries{ref: model.SeriesRef(1 + i*writers + w)}
				tab.set(s)
				assert.Same(t, s, tab.get(s.ref))
				if i%3 == 0 {
					tab.remove(s)
					assert.Nil(t, tab.get(s.ref))
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			tab.forEach(func(s *memSeries) { _ = s.ref })
		}
	})
	wg.Wait()
	n := 0
	tab.forEach(func(*memSeries) { n++ })
	require.Equal(t, writers*per*2/3, n)
}
