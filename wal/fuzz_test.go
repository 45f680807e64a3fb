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
	for i, n := range []int{1, 5, 300, 17, 2, 40, 9} {
		b = appendRecord(b, testRecord(uint64(i), n))
	}
	return b
}

// fuzzSeeds adds segments torn, zero-extended, and damaged in the middle.
func fuzzSeeds(f *testing.F) {
	seg := validSegment()
	f.Add(seg)
	for _, n := range []int{0, 3, 8, 9, 20, len(seg) - 1} {
		f.Add(seg[:n])
	}
	f.Add(append(bytes.Clone(seg), make([]byte, 64)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 'x'})
	for _, at := range []int{2, 20, 100, 330, 340} {
		bad := bytes.Clone(seg)
		bad[at] ^= 0x10
		f.Add(bad)
	}
}

// FuzzReader writes arbitrary bytes as the only segment of a WAL. Reading
// must end with nil or a *CorruptionError; Open must then leave exactly the
// intact frames the resynchronising scan finds, in order, which read back
// cleanly and start with every record the Reader returned.
func FuzzReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := segmentPath(dir, 0)
		if err := os.WriteFile(path, data, 0o666); err != nil {
			t.Fatal(err)
		}
		recs, err := readRaw(t, dir)
		if err != nil {
			var ce *CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not a *CorruptionError", err)
			}
			if ce.Segment != 0 || ce.Offset < 0 || ce.Offset >= int64(len(data)) {
				t.Fatalf("corruption at segment %d offset %d of a %d-byte segment", ce.Segment, ce.Offset, len(data))
			}
		}
		var want [][]byte
		size := 0
		scanSegment(data, func(off, end int) {
			want = append(want, data[off+headerSize:end])
			size += end - off
		})
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
		if st.Size() != int64(size) {
			t.Fatalf("repaired segment is %d bytes, want the %d bytes of its intact frames", st.Size(), size)
		}
		again, err := readRaw(t, dir)
		if err != nil {
			t.Fatalf("read after repair: %v", err)
		}
		equalRecords(t, again, want)
		if len(again) < len(recs) {
			t.Fatalf("repair kept %d records, the Reader had read %d", len(again), len(recs))
		}
		equalRecords(t, again[:len(recs)], recs)
	})
}

// readRaw reads the payloads of every frame of dir's segments, as they
// are stored: FuzzReader checks the framing, FuzzCodecFrames the codecs.
func readRaw(t *testing.T, dir string) ([][]byte, error) {
	t.Helper()
	r, err := NewReader(dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.raw = true
	var out [][]byte
	for r.Next() {
		out = append(out, bytes.Clone(r.Record()))
	}
	return out, r.Err()
}

// FuzzResync checks the resynchronising scan on arbitrary bytes: intact
// frames and damaged ranges cover the input exactly and in order, every
// frame it keeps is valid, every damaged range starts at a bad frame and
// ends at a valid one or the end, and the kept bytes scan again clean to
// the same frames.
func FuzzResync(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		type span struct{ off, end int }
		var frames []span
		bad := scanSegment(data, func(off, end int) { frames = append(frames, span{off, end}) })
		pos, fi, bi := 0, 0, 0
		for pos < len(data) {
			switch {
			case fi < len(frames) && frames[fi].off == pos:
				if end, err := checkFrame(data, pos); err != nil || end != frames[fi].end {
					t.Fatalf("kept frame %v is not valid: end %d, %v", frames[fi], end, err)
				}
				pos = frames[fi].end
				fi++
			case bi < len(bad) && bad[bi].off == pos:
				r := bad[bi]
				if r.end <= r.off || r.reason == nil {
					t.Fatalf("empty or unexplained damaged range %+v", r)
				}
				if _, err := checkFrame(data, r.off); err == nil {
					t.Fatalf("damaged range %+v starts at a valid frame", r)
				}
				if r.end < len(data) {
					if _, err := checkFrame(data, r.end); err != nil {
						t.Fatalf("damaged range %+v ends at a bad frame: %v", r, err)
					}
				}
				pos = r.end
				bi++
			default:
				t.Fatalf("offset %d of %d is neither a kept frame nor a damaged range", pos, len(data))
			}
		}
		if fi != len(frames) || bi != len(bad) {
			t.Fatalf("%d frames and %d ranges lie past the end", len(frames)-fi, len(bad)-bi)
		}
		var kept bytes.Buffer
		if err := writeKept(&kept, data, bad); err != nil {
			t.Fatal(err)
		}
		n := 0
		if again := scanSegment(kept.Bytes(), func(int, int) { n++ }); len(again) != 0 || n != len(frames) {
			t.Fatalf("kept bytes scan to %d frames and %d damaged ranges, want %d and 0", n, len(again), len(frames))
		}
	})
}
