package head

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/wal"
)

// recordPos is where a WAL record's frame starts.
type recordPos struct {
	seg int
	off int64
}

// damagedHead commits one sample for each of n series, one commit each,
// closes the head and returns its options and the position of every WAL
// record: commit i logged records 2i (its series) and 2i+1 (its sample).
func damagedHead(t *testing.T, n int) (Options, []recordPos) {
	t.Helper()
	opts := Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16, WAL: wal.Options{SegmentSize: 4096}}
	h, err := Open(opts)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, h.Append(series(fmt.Sprintf("c%d", i)), int64(i), float64(i)))
	}
	require.NoError(t, h.Close())
	r, err := wal.NewReader(filepath.Join(opts.Dir, "wal"), 0, -1)
	require.NoError(t, err)
	defer r.Close()
	var pos []recordPos
	for r.Next() {
		pos = append(pos, recordPos{r.Segment(), r.Offset()})
	}
	require.NoError(t, r.Err())
	require.Len(t, pos, 2*n)
	return opts, pos
}

// flipByte inverts one byte of a WAL segment.
func flipByte(t *testing.T, opts Options, seg int, off int64) {
	t.Helper()
	path := filepath.Join(opts.Dir, "wal", segmentName(seg))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[off] ^= 0xff
	require.NoError(t, os.WriteFile(path, b, 0o666))
}

// requireCommits checks which of the n commits of damagedHead the head
// holds.
func requireCommits(t *testing.T, h *Head, n int, lost map[int]bool) {
	t.Helper()
	for i := range n {
		got := mustRange(t, h, series(fmt.Sprintf("c%d", i)))
		if lost[i] {
			require.Empty(t, got, "commit %d was damaged", i)
		} else {
			require.Len(t, got, 1, "commit %d is intact", i)
		}
	}
}

// TestDamageInLastSegmentLosesOnlyIt flips a byte in the middle of the
// newest segment: the head starts with every commit but the damaged one.
func TestDamageInLastSegmentLosesOnlyIt(t *testing.T) {
	const n = 300
	opts, pos := damagedHead(t, n)
	last := pos[len(pos)-1].seg
	// The first commit whose sample record is in the last segment, plus 5.
	k := 0
	for pos[2*k+1].seg != last {
		k++
	}
	k += 5
	require.Less(t, k, n-5, "the last segment holds enough commits")
	flipByte(t, opts, last, pos[2*k+1].off+10)
	h, err := Open(opts)
	require.NoError(t, err)
	defer h.Close()
	requireCommits(t, h, n, map[int]bool{k: true})
}

// TestMissingFirstSegmentFailsOpen: segment 0 gone without a checkpoint
// means its commits are lost, and Open says so; with WAL.Repair it starts
// with the rest.
func TestMissingFirstSegmentFailsOpen(t *testing.T) {
	const n = 100
	opts, pos := damagedHead(t, n)
	require.NoError(t, os.Remove(filepath.Join(opts.Dir, "wal", segmentName(0))))
	_, err := Open(opts)
	require.ErrorIs(t, err, wal.ErrMissingSegment)

	var logs lockedBuffer
	opts.WAL.Repair = true
	opts.Logger = logs.logger()
	h, err := Open(opts)
	require.NoError(t, err)
	defer h.Close()
	lost := map[int]bool{}
	for i := range n {
		// A sample whose series record was lost names an unknown ref.
		if pos[2*i].seg == 0 {
			lost[i] = true
		}
	}
	require.NotEmpty(t, lost)
	requireCommits(t, h, n, lost)
	require.Contains(t, logs.String(), "their records are lost")
}

// TestRepairDamagedEarlierSegment: a flipped byte in a segment that is not
// the last stops the start with ErrCorrupt; with WAL.Repair the head starts,
// logs what it dropped, and keeps every other commit.
func TestRepairDamagedEarlierSegment(t *testing.T) {
	const n = 100
	opts, pos := damagedHead(t, n)
	require.Equal(t, 0, pos[2*3+1].seg)
	flipByte(t, opts, 0, pos[2*3+1].off+10)
	_, err := Open(opts)
	require.ErrorIs(t, err, wal.ErrCorrupt)

	var logs lockedBuffer
	opts.WAL.Repair = true
	opts.Logger = logs.logger()
	h, err := Open(opts)
	require.NoError(t, err)
	requireCommits(t, h, n, map[int]bool{3: true})
	require.Contains(t, logs.String(), "bytes_dropped=")
	require.Contains(t, logs.String(), "segment=0")
	require.NoError(t, h.Close())

	// The segment is clean now: a start without repair succeeds.
	opts.WAL.Repair = false
	h, err = Open(opts)
	require.NoError(t, err)
	requireCommits(t, h, n, map[int]bool{3: true})
	require.NoError(t, h.Close())
}
