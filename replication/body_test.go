package replication

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/ring"
)

// TestBodiesShared checks that batches of the same series share one
// encoded request and others get their own, and that every push of a
// shared body reads the same bytes.
func TestBodiesShared(t *testing.T) {
	a := &appender{tenant: "t", series: map[uint32]int{}}
	for i := range 3 {
		if _, err := a.Append(0, labels.FromStrings("__name__", "m", "i", string(rune('a'+i))), 1, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	pushed := []*batch{
		{to: ring.Instance{ID: "b"}, series: []int{0, 1, 2}},
		{to: ring.Instance{ID: "c"}, series: []int{0, 1, 2}},
		{to: ring.Instance{ID: "d"}, series: []int{0, 2}},
	}
	ys := bodies(a, pushed)
	if ys[0] != ys[1] || ys[0] == ys[2] {
		t.Fatalf("bodies shared as %p %p %p, want the first two alike and the third apart", ys[0], ys[1], ys[2])
	}
	if got := ys[0].users.Load(); got != 2 {
		t.Fatalf("shared body has %d users, want 2", got)
	}
	first, err := ys[0].get(a, pushed[0])
	if err != nil {
		t.Fatal(err)
	}
	second, err := ys[1].get(a, pushed[1])
	if err != nil {
		t.Fatal(err)
	}
	if &first[0] != &second[0] {
		t.Fatalf("the second push of a shared body encoded it again")
	}
	other, err := ys[2].get(a, pushed[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(other) >= len(first) {
		t.Fatalf("body of 2 series is %d bytes, that of 3 is %d: want it smaller", len(other), len(first))
	}
	for _, y := range ys {
		y.release()
	}
}
