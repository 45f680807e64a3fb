package head

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestSelectUnsortedAsSelect selects more series than one goroutine
// snapshots, while an appender adds samples, and checks that the unsorted
// selection holds the series of the sorted one, each once, with all the
// samples the range held before the appends.
func TestSelectUnsortedAsSelect(t *testing.T) {
	h, err := Open(Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	n := 3*parallelSelect + 17
	lset := func(i int) labels.Labels {
		return labels.FromStrings("__name__", "x", "i", strconv.Itoa(i), "odd", strconv.Itoa(i%2))
	}
	app := h.Appender()
	for i := range n {
		for ts := int64(0); ts < 5; ts++ {
			if _, err := app.Append(0, lset(i), ts*1000, float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { // appends while the selections read
		app := h.Appender()
		for i := range n {
			if _, err := app.Append(0, lset(i), 10_000, 1); err != nil {
				t.Error(err)
				return
			}
		}
		if err := app.Commit(); err != nil {
			t.Error(err)
		}
	})
	m := labels.MustNewMatcher(labels.MatchEqual, "__name__", "x")
	sorted, err := h.Select(context.Background(), 0, 4000, m)
	if err != nil {
		t.Fatal(err)
	}
	unsorted, err := h.SelectUnsorted(context.Background(), 0, 4000, m)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(sorted) != n || len(unsorted) != n {
		t.Fatalf("got %d sorted and %d unsorted series, want %d", len(sorted), len(unsorted), n)
	}
	if !slices.IsSortedFunc(sorted, func(a, b *Series) int { return labels.Compare(a.Labels, b.Labels) }) {
		t.Fatal("Select is not sorted by labels")
	}
	slices.SortFunc(unsorted, func(a, b *Series) int { return labels.Compare(a.Labels, b.Labels) })
	for i := range sorted {
		if !labels.Equal(sorted[i].Labels, unsorted[i].Labels) {
			t.Fatalf("series %d: got %s, want %s", i, unsorted[i].Labels, sorted[i].Labels)
		}
		var got int
		for it := unsorted[i].Iterator(nil); it.Next(); got++ {
		}
		if got != 5 {
			t.Fatalf("%s: %d samples in [0, 4000], want 5", unsorted[i].Labels, got)
		}
	}
}
