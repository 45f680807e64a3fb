package wal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	const segSize = 4096
	w := mustOpen(t, dir, Options{SegmentSize: segSize})
	sizes := []int{1, 2, 7, 100, segSize - headerSize, segSize - headerSize - 1, 1, 3000, 1500, segSize - headerSize, 1}
	var want [][]byte
	for i := 0; i < 200; i++ {
		rec := testRecord(uint64(i), sizes[i%len(sizes)])
		want = append(want, rec)
		if err := w.Log(rec); err != nil {
			t.Fatalf("Log %d: %v", i, err)
		}
	}
	// A multi-record batch larger than a segment is split between segments
	// at record boundaries.
	batch := [][]byte{testRecord(1000, 3000), testRecord(1001, 3000), testRecord(1002, 3000)}
	if err := w.Log(batch...); err != nil {
		t.Fatal(err)
	}
	want = append(want, batch...)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	first, last := segmentRange(t, dir)
	if first != 0 || last < 10 {
		t.Fatalf("segments %d..%d, want 0..>=10", first, last)
	}
	for i := first; i <= last; i++ {
		st, err := os.Stat(segmentPath(dir, i))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > segSize {
			t.Fatalf("segment %d is %d bytes, above %d", i, st.Size(), segSize)
		}
	}
	got, err := readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, want)

	// Reopening starts a new segment and keeps the old ones intact.
	w2 := mustOpen(t, dir, Options{SegmentSize: segSize})
	if got := w2.Stats().Segment; got != last+1 {
		t.Fatalf("reopened WAL writes segment %d, want %d", got, last+1)
	}
	if err := w2.Log(testRecord(5000, 10)); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	got, err = readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, append(want, testRecord(5000, 10)))
}

func segmentRange(t *testing.T, dir string) (int, int) {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 {
		return -1, -1
	}
	return segs[0], segs[len(segs)-1]
}

func TestLogRejectsBadRecords(t *testing.T) {
	w := mustOpen(t, t.TempDir(), Options{SegmentSize: 1024})
	if err := w.Log([]byte{}); !errors.Is(err, ErrEmptyRecord) {
		t.Fatalf("empty record: got %v, want ErrEmptyRecord", err)
	}
	if err := w.Log(make([]byte, 1024-headerSize+1)); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("large record: got %v, want ErrRecordTooLarge", err)
	}
	// A bad record refuses the whole call and leaves the WAL usable.
	if err := w.Log([]byte("ok"), nil); !errors.Is(err, ErrEmptyRecord) {
		t.Fatalf("got %v", err)
	}
	if err := w.Log([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().Records; got != 1 {
		t.Fatalf("Records = %d, want 1", got)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{SegmentSize: MaxSegmentSize + 1},
		{SegmentSize: 8},
		{SegmentSize: -1},
		{Fsync: FsyncPolicy(7)},
		{FsyncInterval: -1},
	} {
		if w, err := Open(t.TempDir(), o); err == nil {
			_ = w.Close()
			t.Fatalf("Open(%+v) succeeded", o)
		}
	}
	for _, s := range []string{"interval", "always"} {
		p, err := ParseFsyncPolicy(s)
		if err != nil || p.String() != s {
			t.Fatalf("ParseFsyncPolicy(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseFsyncPolicy("sometimes"); err == nil {
		t.Fatal("ParseFsyncPolicy accepted an unknown policy")
	}
}

func TestCloseIdempotentAndLogAfterClose(t *testing.T) {
	w, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Log([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := w.Log([]byte("b")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Log after Close: got %v, want ErrClosed", err)
	}
	if _, err := w.Cut(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Cut after Close: got %v, want ErrClosed", err)
	}
	if err := w.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: got %v, want ErrClosed", err)
	}
}

func TestCutAndSegments(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	if w.Dir() != dir {
		t.Fatalf("Dir() = %q, want %q", w.Dir(), dir)
	}
	if err := w.Log([]byte("in 0")); err != nil {
		t.Fatal(err)
	}
	n, err := w.Cut()
	if err != nil || n != 1 {
		t.Fatalf("Cut() = %d, %v; want 1", n, err)
	}
	if err := w.Log([]byte("in 1")); err != nil {
		t.Fatal(err)
	}
	first, last, err := w.Segments()
	if err != nil || first != 0 || last != 1 {
		t.Fatalf("Segments() = %d, %d, %v; want 0, 1", first, last, err)
	}
	if s := w.Stats(); s.SegmentsCut != 1 || s.Segment != 1 || s.Records != 2 || s.BytesWritten != 2*(headerSize+4) {
		t.Fatalf("Stats() = %+v", s)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, 0)
	if err != nil || len(got) != 1 || string(got[0]) != "in 0" {
		t.Fatalf("segment 0: %q, %v", got, err)
	}
	got, err = readAll(t, dir, 1, 1)
	if err != nil || len(got) != 1 || string(got[0]) != "in 1" {
		t.Fatalf("segment 1: %q, %v", got, err)
	}
}

func TestNewReaderRanges(t *testing.T) {
	dir := t.TempDir()
	if r, err := NewReader(dir, 0, -1); err != nil || r.Next() || r.Err() != nil {
		t.Fatalf("empty dir: %v", err)
	}
	for _, i := range []int{2, 3, 5} {
		if err := os.WriteFile(filepath.Join(dir, segmentName(i)), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		from, to int
		ok       bool
	}{
		{2, 3, true}, {2, -1, false}, {5, -1, true}, {6, -1, true}, {0, -1, false},
		{3, 5, false}, {4, 4, false}, {-1, 3, false}, {3, 2, false},
	} {
		r, err := NewReader(dir, c.from, c.to)
		if (err == nil) != c.ok {
			t.Errorf("NewReader(%d, %d): err = %v, want ok=%v", c.from, c.to, err, c.ok)
		}
		if r != nil {
			_ = r.Close()
		}
	}
}

// TestFailedWALRefusesRecords simulates a disk error under the writer: the
// failing call and every later one must report it, and nothing is written.
func TestFailedWALRefusesRecords(t *testing.T) {
	var logs logBuffer
	w, err := Open(t.TempDir(), Options{Fsync: FsyncAlways, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Log([]byte("good")); err != nil {
		t.Fatal(err)
	}
	w.segMu.Lock()
	_ = w.seg.Close() // every later write to it fails
	w.segMu.Unlock()
	if err := w.Log([]byte("lost")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Log on a broken segment: got %v, want ErrUnavailable", err)
	}
	err = w.Log([]byte("later"))
	var ue *UnavailableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unavailable") || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Log after failure: got %v, want an *UnavailableError wrapping the write error", err)
	}
	if _, err := w.Cut(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Cut on a failed WAL: got %v", err)
	}
	if err := w.Sync(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Sync on a failed WAL: got %v", err)
	}
	if s := w.Stats(); s.Records != 1 || s.Failures != 1 {
		t.Fatalf("Stats = %+v, want 1 record and 1 failure", s)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close of a failed WAL returned nil")
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("failure not logged: %s", logs.String())
	}
}
