package wal

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenRecords are the records of testdata/segment.hex, the pinned bytes
// of a segment (docs/format/wal.md, "Record framing"): a one-byte record,
// a short text, and one of 300 bytes whose length needs two bytes.
func goldenRecords() [][]byte {
	long := make([]byte, 300)
	for i := range long {
		long[i] = byte(i * 7)
	}
	return [][]byte{{0x2a}, []byte("gorilla"), long}
}

// TestGoldenSegment pins the exact bytes the WAL writes for goldenRecords,
// and that a Reader reads those bytes back as the same records.
// Regenerate with go test ./wal/ -run TestGoldenSegment -update, only after
// checking that the format change is intended: old WALs become unreadable.
func TestGoldenSegment(t *testing.T) {
	const path = "testdata/segment.hex"
	dir := t.TempDir()
	w, err := Open(dir, Options{Fsync: FsyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Log(goldenRecords()...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(segmentPath(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(formatHex(got)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readHex(t, path)
	if string(got) != string(want) {
		t.Fatalf("segment bytes differ from %s:\n got %x\nwant %x", path, got, want)
	}

	// Decode the golden bytes, not what this build wrote.
	rdir := t.TempDir()
	if err := os.WriteFile(segmentPath(rdir, 0), want, 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, rdir, 0, 0)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	equalRecords(t, recs, goldenRecords())
}

// TestGoldenFrame pins one frame field by field, so a failure of
// TestGoldenSegment can be told apart from a change of the checksum.
func TestGoldenFrame(t *testing.T) {
	got := appendRecord(nil, []byte("gorilla"))
	// Length 7, little endian; CRC-32C of "gorilla" (0x48f262a6, computed
	// bit by bit outside Go), little endian; the payload.
	want := "07000000" + "a662f248" + hex.EncodeToString([]byte("gorilla"))
	if hex.EncodeToString(got) != want {
		t.Fatalf("frame of %q: got %x, want %s", "gorilla", got, want)
	}
}

// readHex reads a golden file of whitespace-separated hex.
func readHex(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// formatHex writes b as lowercase hex, 16 bytes per line.
func formatHex(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}
