package wal

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testRecord returns a deterministic record of n bytes identified by id, so
// a test can check both content and order of what it reads back.
func testRecord(id uint64, n int) []byte {
	rec := make([]byte, n)
	var seed [8]byte
	binary.LittleEndian.PutUint64(seed[:], id)
	copy(rec, seed[:])
	rng := rand.New(rand.NewPCG(id, uint64(n)))
	for i := len(seed); i < n; i++ {
		rec[i] = byte(rng.Uint32())
	}
	return rec
}

// readAll reads every record of segments from..to of dir, decoding the
// frames of codecs.
func readAll(t *testing.T, dir string, from, to int, codecs ...Codec) ([][]byte, error) {
	t.Helper()
	r, err := NewReader(dir, from, to, codecs...)
	if err != nil {
		t.Fatalf("NewReader(%d, %d): %v", from, to, err)
	}
	defer r.Close()
	var out [][]byte
	for r.Next() {
		out = append(out, bytes.Clone(r.Record()))
	}
	return out, r.Err()
}

// mustOpen opens a WAL and closes it at the end of the test.
func mustOpen(t testing.TB, dir string, opts Options) *WAL {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func equalRecords(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d: got %d bytes %x..., want %d bytes %x...", i, len(got[i]), head(got[i]), len(want[i]), head(want[i]))
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }

// logBuffer is a slog handler target that tests inspect for warnings.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
