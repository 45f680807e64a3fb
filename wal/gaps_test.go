package wal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// segmentsOf writes recs with 1 KiB segments and returns the records of
// each segment.
func segmentsOf(t *testing.T, dir string, recs [][]byte) [][][]byte {
	t.Helper()
	writeSegments(t, dir, recs)
	first, last := segmentRange(t, dir)
	var out [][][]byte
	for i := first; i <= last; i++ {
		got, err := readAll(t, dir, i, i)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
	}
	return out
}

func flatten(segs [][][]byte) [][]byte {
	var out [][]byte
	for _, s := range segs {
		out = append(out, s...)
	}
	return out
}

// TestMissingSegmentFailsOpen: a segment gone from the start, the middle,
// or right after the checkpoint means lost records, and Open says so
// instead of starting without them.
func TestMissingSegmentFailsOpen(t *testing.T) {
	cases := []struct {
		name       string
		checkpoint int // -1: none
		remove     int
		msg        string
	}{
		{"first segment", -1, 0, "segments 0..0 missing"},
		{"middle segment", -1, 2, "segments 2..2 missing"},
		{"first after the checkpoint", 1, 2, "the checkpoint covers segments up to 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			segmentsOf(t, dir, manyRecords(40))
			if c.checkpoint >= 0 {
				if err := Checkpoint(dir, c.checkpoint, func(log func([]byte) error) error { return log([]byte("cp")) }, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Remove(segmentPath(dir, c.remove)); err != nil {
				t.Fatal(err)
			}
			w, err := Open(dir, Options{SegmentSize: 1024})
			if err == nil {
				_ = w.Close()
				t.Fatal("Open succeeded with a segment missing")
			}
			if !errors.Is(err, ErrMissingSegment) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Open: got %v, want ErrMissingSegment saying %q", err, c.msg)
			}
		})
	}
}

// TestRepairAcceptsMissingSegments: with Repair, missing segments are
// recreated empty, logged, and the rest replays.
func TestRepairAcceptsMissingSegments(t *testing.T) {
	dir := t.TempDir()
	segs := segmentsOf(t, dir, manyRecords(40))
	if len(segs) < 4 {
		t.Fatalf("%d segments, want at least 4", len(segs))
	}
	for _, i := range []int{0, 2} {
		if err := os.Remove(segmentPath(dir, i)); err != nil {
			t.Fatal(err)
		}
	}
	var logs logBuffer
	w := mustOpen(t, dir, Options{SegmentSize: 1024, Repair: true, Logger: logs.logger()})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"first=0 last=0", "first=2 last=2", "their records are lost"} {
		if !strings.Contains(logs.String(), s) {
			t.Fatalf("log lacks %q:\n%s", s, logs.String())
		}
	}
	got, err := readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := append([][]byte(nil), segs[1]...)
	equalRecords(t, got, append(want, flatten(segs[3:])...))
	// Repaired for good: a start without Repair succeeds.
	mustOpen(t, dir, Options{SegmentSize: 1024})
}

// TestRepairEarlierSegment: damage in a segment that is not the last stops
// the replay with an error; with Repair, Open drops only the damaged record
// and the replay goes on.
func TestRepairEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	segs := segmentsOf(t, dir, manyRecords(40))
	// The second record of segment 0.
	off := int64(headerSize + len(segs[0][0]))
	xorRange(t, segmentPath(dir, 0), off+headerSize+3, off+headerSize+4)

	w := mustOpen(t, dir, Options{SegmentSize: 1024})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, dir, 0, -1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("replay without repair: got %v, want ErrCorrupt", err)
	}
	var logs logBuffer
	w = mustOpen(t, dir, Options{SegmentSize: 1024, Repair: true, Logger: logs.logger()})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatalf("replay after repair: %v", err)
	}
	want := append([][]byte{segs[0][0]}, segs[0][2:]...)
	equalRecords(t, got, append(want, flatten(segs[1:])...))
	if !strings.Contains(logs.String(), "segment=0") || !strings.Contains(logs.String(), "bytes_dropped=") {
		t.Fatalf("repair not logged:\n%s", logs.String())
	}
}

// TestRepairCheckpoint: a damaged checkpoint segment stops its reader;
// with Repair the intact checkpoint records are kept.
func TestRepairCheckpoint(t *testing.T) {
	dir := t.TempDir()
	w, _ := checkpointState(t, dir)
	recs := manyRecords(20)
	err := Checkpoint(dir, 1, func(log func([]byte) error) error {
		for _, r := range recs {
			if err := log(r); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path, _, err := LastCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(0)
	for _, r := range recs[:7] {
		off += int64(headerSize + len(r))
	}
	xorRange(t, segmentPath(path, 0), off+headerSize, off+headerSize+1)
	readCheckpoint := func() ([][]byte, error) {
		r, err := NewCheckpointReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out [][]byte
		for r.Next() {
			out = append(out, append([]byte(nil), r.Record()...))
		}
		return out, r.Err()
	}
	if _, err := readCheckpoint(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged checkpoint: got %v, want ErrCorrupt", err)
	}
	w = mustOpen(t, dir, Options{Repair: true})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, append(append([][]byte(nil), recs[:7]...), recs[8:]...))
}

// TestCheckpointMissingFirstSegment: a checkpoint's segments start at 0.
func TestCheckpointMissingFirstSegment(t *testing.T) {
	dir := t.TempDir()
	cp := filepath.Join(dir, checkpointName(3))
	if err := os.Mkdir(cp, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segmentPath(cp, 1), appendRecord(nil, []byte("x")), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := NewCheckpointReader(cp); !errors.Is(err, ErrMissingSegment) {
		t.Fatalf("got %v, want ErrMissingSegment", err)
	}
}
