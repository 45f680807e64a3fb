package wal

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// oneSegment logs recs into segment 0 of a fresh WAL and returns the frame
// offsets of the records, and the segment's size last.
func oneSegment(t *testing.T, dir string, recs [][]byte) []int64 {
	t.Helper()
	w, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	offs := []int64{0}
	for _, r := range recs {
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
		offs = append(offs, offs[len(offs)-1]+int64(headerSize+len(r)))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return offs
}

// xorRange inverts every byte of path in [from, to), so each one changes.
func xorRange(t *testing.T, path string, from, to int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o666); err != nil {
		t.Fatal(err)
	}
}

func manyRecords(n int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = testRecord(uint64(i), 30+(i*37)%400)
	}
	return recs
}

// TestDamageInLastSegmentKeepsLaterRecords damages bytes in the middle of
// the last segment: Open must drop only the records the damage touches and
// keep every intact record after it, and log what it dropped.
func TestDamageInLastSegmentKeepsLaterRecords(t *testing.T) {
	recs := manyRecords(60)
	type damage struct {
		name     string
		from, to func(offs []int64) int64 // damaged byte range
	}
	at := func(rec int, delta int64) func([]int64) int64 {
		return func(offs []int64) int64 { return offs[rec] + delta }
	}
	cases := []damage{
		{"payload byte", at(20, headerSize+5), at(20, headerSize+6)},
		{"length byte", at(20, 1), at(20, 2)},
		{"low length byte", at(20, 0), at(20, 1)},
		{"checksum byte", at(20, 6), at(20, 7)},
		{"whole header", at(20, 0), at(20, headerSize)},
		{"across three records", at(20, 17), at(22, 3)},
		{"first record", at(0, 2), at(0, 3)},
		{"second to last record", at(58, headerSize), at(58, headerSize+1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			offs := oneSegment(t, dir, recs)
			from, to := c.from(offs), c.to(offs)
			xorRange(t, segmentPath(dir, 0), from, to)
			var want [][]byte
			var dropped int64
			for i, r := range recs {
				if offs[i+1] <= from || offs[i] >= to {
					want = append(want, r)
				} else {
					dropped += offs[i+1] - offs[i]
				}
			}
			var logs logBuffer
			w := mustOpen(t, dir, Options{Logger: logs.logger()})
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, dir, 0, -1)
			if err != nil {
				t.Fatalf("read after repair: %v", err)
			}
			equalRecords(t, got, want)
			st, err := os.Stat(segmentPath(dir, 0))
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != offs[len(recs)]-dropped {
				t.Fatalf("repaired segment is %d bytes, want %d", st.Size(), offs[len(recs)]-dropped)
			}
			for _, s := range []string{"damaged_ranges=1", "bytes_dropped=" + strconv.FormatInt(dropped, 10), "level=WARN"} {
				if !strings.Contains(logs.String(), s) {
					t.Fatalf("log lacks %q:\n%s", s, logs.String())
				}
			}
		})
	}
}

// TestTwoDamagedRanges keeps the records between and after two damaged
// ranges of the last segment.
func TestTwoDamagedRanges(t *testing.T) {
	recs := manyRecords(40)
	dir := t.TempDir()
	offs := oneSegment(t, dir, recs)
	xorRange(t, segmentPath(dir, 0), offs[5]+headerSize, offs[5]+headerSize+1)
	xorRange(t, segmentPath(dir, 0), offs[30]+3, offs[30]+4)
	var logs logBuffer
	w := mustOpen(t, dir, Options{Logger: logs.logger()})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([][]byte(nil), recs[:5]...), recs[6:30]...), recs[31:]...)
	equalRecords(t, got, want)
	if !strings.Contains(logs.String(), "damaged_ranges=2") {
		t.Fatalf("log lacks the two ranges:\n%s", logs.String())
	}
}

// TestTornTailAfterDamage: damage in the middle and a torn last record. The
// intact records between them are kept and the torn one is dropped: the
// header chain is checked only at the resynchronisation point.
func TestTornTailAfterDamage(t *testing.T) {
	recs := manyRecords(30)
	dir := t.TempDir()
	offs := oneSegment(t, dir, recs)
	path := segmentPath(dir, 0)
	xorRange(t, path, offs[10]+headerSize, offs[10]+headerSize+1)
	if err := os.Truncate(path, offs[29]+headerSize+3); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, dir, Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, append(append([][]byte(nil), recs[:10]...), recs[11:29]...))
}

// TestRewriteLeftoverRemoved: a crash during a rewrite leaves
// NNNNNNNN.tmp, and a crash during a probe the probe file; Open removes
// both and nothing else.
func TestRewriteLeftoverRemoved(t *testing.T) {
	dir := t.TempDir()
	oneSegment(t, dir, manyRecords(3))
	for _, name := range []string{segmentName(0) + tmpSuffix, probeName, "notes.tmp"} {
		if err := os.WriteFile(dir+"/"+name, []byte("junk"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	w := mustOpen(t, dir, Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, gone := range map[string]bool{segmentName(0) + tmpSuffix: true, probeName: true, "notes.tmp": false} {
		_, err := os.Stat(dir + "/" + name)
		if errors.Is(err, os.ErrNotExist) != gone {
			t.Fatalf("%s: stat error %v, want removed=%v", name, err, gone)
		}
	}
}
