package head

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// TestTornLastRecordAtEveryOffset cuts the newest WAL segment at every byte
// offset inside its last record and checks that the head starts with every
// sample committed before that record.
func TestTornLastRecordAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	opts := Options{Dir: src, MaintenanceInterval: -1, Stripes: 16, BlockDuration: time.Minute}
	h, err := Open(opts)
	require.NoError(t, err)
	lset := series("torn", "job", "x")
	var before []model.Sample
	for ts := int64(0); ts < 20_000; ts += 1000 {
		require.NoError(t, h.Append(lset, ts, float64(ts)*1.5))
		before = append(before, model.Sample{T: ts, V: float64(ts) * 1.5})
	}
	// The last commit: a single record of a few samples of another series.
	app := h.Appender()
	for ts := int64(0); ts < 5000; ts += 1000 {
		_, err := app.Append(0, series("last"), ts, 1)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	require.NoError(t, h.Close())

	walDir := filepath.Join(src, "wal")
	_, last, err := segmentsOf(walDir)
	require.NoError(t, err)
	segPath := filepath.Join(walDir, segmentName(last))
	data, err := os.ReadFile(segPath)
	require.NoError(t, err)
	start := lastRecordStart(t, walDir, last)

	for cut := start; cut < int64(len(data)); cut++ {
		dir := t.TempDir()
		require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
		require.NoError(t, os.Truncate(filepath.Join(dir, "wal", segmentName(last)), cut))
		o := opts
		o.Dir = dir
		h, err := Open(o)
		require.NoError(t, err, "cut at %d", cut)
		requireSamples(t, before, mustRange(t, h, lset))
		require.Empty(t, mustRange(t, h, series("last")), "cut at %d: torn record must not be half applied", cut)
		// The head goes on taking writes after the repair.
		require.NoError(t, h.Append(lset, 30_000, 1))
		require.NoError(t, h.Close())
	}
}

func segmentName(i int) string { return filepath.Base(filepath.Join("x", padSegment(i))) }

func padSegment(i int) string {
	s := []byte("00000000")
	for j := 7; j >= 0 && i > 0; j-- {
		s[j] = byte('0' + i%10)
		i /= 10
	}
	return string(s)
}

// segmentsOf returns the first and last segment with data in dir.
func segmentsOf(dir string) (int, int, error) {
	w, err := wal.NewReader(dir, 0, -1)
	if err != nil {
		return 0, 0, err
	}
	defer w.Close()
	first, last := -1, -1
	for w.Next() {
		if first < 0 {
			first = w.Segment()
		}
		last = w.Segment()
	}
	return first, last, w.Err()
}

// lastRecordStart returns the offset of the last record in segment seg.
func lastRecordStart(t *testing.T, dir string, seg int) int64 {
	t.Helper()
	r, err := wal.NewReader(dir, seg, seg)
	require.NoError(t, err)
	defer r.Close()
	off := int64(-1)
	for r.Next() {
		off = r.Offset()
	}
	require.NoError(t, r.Err())
	require.GreaterOrEqual(t, off, int64(0))
	return off
}
