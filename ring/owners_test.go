package ring

import (
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// startThree starts three nodes joined in one ring of replication factor
// 3 and waits until each sees all of them.
func startThree(t testing.TB) *Node {
	t.Helper()
	a := startNode(t, "node-a")
	b := startNode(t, "node-b", a.GossipAddr())
	c := startNode(t, "node-c", a.GossipAddr())
	all := []string{"node-a", "node-b", "node-c"}
	for _, n := range []*Node{a, b, c} {
		eventually(t, "converge", func() string { return converged(n, all) })
	}
	return a
}

// TestOwnersInto checks that a reused buffer gives Owners' answers, for
// every rf, and that once grown it allocates nothing.
func TestOwnersInto(t *testing.T) {
	a := startThree(t)
	var buf OwnersBuffer
	for i := range 200 {
		tok := Token("tenant", labels.FromStrings("__name__", "up", "i", fmt.Sprint(i)))
		for rf := 1; rf <= 3; rf++ {
			want, err := a.Owners(tok, rf)
			if err != nil {
				t.Fatalf("Owners(%d, %d): %v", tok, rf, err)
			}
			got, err := a.OwnersInto(tok, rf, &buf)
			if err != nil {
				t.Fatalf("OwnersInto(%d, %d): %v", tok, rf, err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("OwnersInto(%d, %d) = %v, Owners said %v", tok, rf, ids(got), ids(want))
			}
		}
	}
	if _, err := a.OwnersInto(1, 4, &buf); err == nil {
		t.Fatalf("OwnersInto with rf above the configured factor did not fail")
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = a.OwnersInto(12345, 3, &buf) })
	if allocs != 0 {
		t.Fatalf("OwnersInto with a grown buffer allocates %v times, want 0", allocs)
	}
}

// BenchmarkOwners looks up the replicas of one token with RF=3 on a
// three-node ring, with a fresh result per call and with a reused buffer.
func BenchmarkOwners(b *testing.B) {
	a := startThree(b)
	toks := make([]uint32, 1024)
	for i := range toks {
		toks[i] = Token("", labels.FromStrings("__name__", "up", "i", fmt.Sprint(i)))
	}
	b.Run("Owners", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := a.Owners(toks[i%len(toks)], 3); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OwnersInto", func(b *testing.B) {
		b.ReportAllocs()
		var buf OwnersBuffer
		for i := 0; b.Loop(); i++ {
			if _, err := a.OwnersInto(toks[i%len(toks)], 3, &buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
