package head

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestReplayedSegments: a reopened head reports the WAL segments it read
// back, the newest being the one written last.
func TestReplayedSegments(t *testing.T) {
	dir := t.TempDir()
	open := func() *Head {
		t.Helper()
		h, err := Open(Options{Dir: dir, MaintenanceInterval: -1})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return h
	}
	h := open()
	first0, last0 := h.ReplayedSegments()
	if err := h.Append(labels.FromStrings("__name__", "replay_test"), 1000, 1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.wal.Cut(); err != nil {
			t.Fatal(err)
		}
	}
	_, writing, err := h.wal.Segments()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = open()
	defer h.Close()
	first, last := h.ReplayedSegments()
	if first != first0 || last < writing || last < last0+2 {
		t.Fatalf("after two cuts: ReplayedSegments() = %d, %d; want %d and at least %d (first open: %d, %d)",
			first, last, first0, max(writing, last0+2), first0, last0)
	}
}
