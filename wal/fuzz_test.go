package wal

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// validSegment returns the bytes of a segment holding a few records.
func validSegment() []byte {
	var b []byte
	for i, n := range []int{1, 5, 300, 17, 2} {
		b = appendRecord(b, testRecord(uint64(i), n))
	}
	return b
}

// FuzzReader writes arbitrary bytes as the only segment of a WAL. Reading
// must end with nil or a *CorruptionError, and Open must cut the segment
// exactly where the Reader stopped, after which it reads back cleanly.
func FuzzReader(f *testing.F) {
	seg := validSegment()
	f.Add(seg)
	for _, n := range []int{0, 3, 8, 9, 20, len(seg) - 1} {
		f.Add(seg[:n])
	}
	f.Add(append(bytes.Clone(seg), make([]byte, 64)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 'x'})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := segmentPath(dir, 0)
		if err := os.WriteFile(path, data, 0o666); err != nil {
			t.Fatal(err)
		}
		recs, err := readAll(t, dir, 0, -1)
		end := int64(len(data))
		if err != nil {
			var ce *CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not a *CorruptionError", err)
			}
			if ce.Segment != 0 || ce.Offset < 0 || ce.Offset >= end {
				t.Fatalf("corruption at segment %d offset %d of a %d-byte segment", ce.Segment, ce.Offset, end)
			}
			end = ce.Offset
		}
		w, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != end {
			t.Fatalf("repaired segment is %d bytes, want %d", st.Size(), end)
		}
		again, err := readAll(t, dir, 0, -1)
		if err != nil {
			t.Fatalf("read after repair: %v", err)
		}
		equalRecords(t, again, recs)
	})
}
