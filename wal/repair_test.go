package wal

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// writeSegments logs recs with a small segment size and closes the WAL. It
// returns the index and the start offset of the last record's frame.
func writeSegments(t *testing.T, dir string, recs [][]byte) (int, int64) {
	t.Helper()
	w, err := Open(dir, Options{SegmentSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seg, off := -1, int64(-1)
	for r.Next() {
		seg, off = r.Segment(), r.Offset()
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return seg, off
}

func tornRecords() [][]byte {
	var recs [][]byte
	for i := range 9 {
		recs = append(recs, testRecord(uint64(i), 150+i))
	}
	return append(recs, testRecord(99, 40))
}

// TestTornTail damages the last record of the last segment in every way a
// crash or a bad disk could and checks that Open cuts exactly that record.
func TestTornTail(t *testing.T) {
	recs := tornRecords()
	last := recs[len(recs)-1]
	end := int64(headerSize + len(last))
	type damage struct {
		name string
		do   func(path string, recOff int64) error
	}
	var cases []damage
	for cut := int64(1); cut < end; cut++ { // cut 0 leaves a clean end
		cases = append(cases, damage{"truncate", func(p string, off int64) error { return os.Truncate(p, off+cut) }})
	}
	for from := int64(0); from < end; from += 3 {
		cases = append(cases, damage{"zeros", func(p string, off int64) error { return overwrite(p, off+from, make([]byte, end-from)) }})
	}
	for bit := int64(0); bit < end*8; bit += 5 {
		cases = append(cases, damage{"bitflip", func(p string, off int64) error { return flipBit(p, off+bit/8, uint(bit%8)) }})
	}
	// A torn write extended by preallocated zeros past the record.
	cases = append(cases, damage{"zero-extend", func(p string, off int64) error {
		return overwrite(p, off+5, make([]byte, 4096))
	}})
	for _, c := range cases {
		dir := t.TempDir()
		seg, off := writeSegments(t, dir, recs)
		if err := c.do(segmentPath(dir, seg), off); err != nil {
			t.Fatal(err)
		}
		checkRepaired(t, dir, c.name, seg, off, recs[:len(recs)-1])
	}
	t.Logf("%d damaged tails repaired", len(cases))
}

func checkRepaired(t *testing.T, dir, name string, seg int, off int64, want [][]byte) {
	t.Helper()
	var logs logBuffer
	w, err := Open(dir, Options{SegmentSize: 1024, Logger: logs.logger()})
	if err != nil {
		t.Fatalf("%s: Open: %v", name, err)
	}
	st, err := os.Stat(segmentPath(dir, seg))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != off {
		t.Fatalf("%s: segment %d is %d bytes after repair, want %d", name, seg, st.Size(), off)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "bytes_dropped=") {
		t.Fatalf("%s: no repair warning logged: %s", name, logs.String())
	}
	extra := testRecord(7777, 33)
	if err := w.Log(extra); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatalf("%s: read after repair: %v", name, err)
	}
	equalRecords(t, got, append(append([][]byte(nil), want...), extra))
}

func TestCleanTailNotRepaired(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir, tornRecords())
	var logs logBuffer
	w := mustOpen(t, dir, Options{Logger: logs.logger()})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "WARN") {
		t.Fatalf("clean WAL logged a warning: %s", logs.String())
	}
}

// TestCorruptionInTheMiddle flips a byte in a segment that is not the last:
// Open must leave it alone and the Reader must report where it is.
func TestCorruptionInTheMiddle(t *testing.T) {
	recs := tornRecords()
	dir := t.TempDir()
	writeSegments(t, dir, recs)
	// Find the third record of segment 0.
	r, err := NewReader(dir, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for r.Next() {
		offs = append(offs, r.Offset())
	}
	_ = r.Close()
	if len(offs) < 3 {
		t.Fatalf("segment 0 holds %d records, want >= 3", len(offs))
	}
	if err := flipBit(segmentPath(dir, 0), offs[2]+headerSize+10, 3); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, dir, Options{SegmentSize: 1024})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, -1)
	var ce *CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got error %v, want *CorruptionError matching ErrCorrupt", err)
	}
	if ce.Segment != 0 || ce.Offset != offs[2] || ce.Dir != dir {
		t.Fatalf("corruption at %s segment %d offset %d, want segment 0 offset %d", ce.Dir, ce.Segment, ce.Offset, offs[2])
	}
	equalRecords(t, got, recs[:2])
	if !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("error %q does not say what is wrong", err)
	}
}

func overwrite(path string, off int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, off)
	return errors.Join(err, f.Close())
}

func flipBit(path string, off int64, bit uint) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[off] ^= 1 << bit
	return os.WriteFile(path, b, 0o666)
}
