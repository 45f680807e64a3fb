package wal

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Segment and checkpoint names are part of the on-disk format
// (docs/format/wal.md).
const (
	checkpointPrefix = "checkpoint."
	tmpSuffix        = ".tmp"
	// probeName is the file a recovering WAL writes to check that the
	// disk takes data again; it is removed at once and never read.
	probeName = "write-probe.tmp"
)

// segmentName returns the file name of segment i: 8 zero-padded decimal
// digits, so that names sort like the indexes.
func segmentName(i int) string { return fmt.Sprintf("%08d", i) }

// segmentPath returns the path of segment i in dir.
func segmentPath(dir string, i int) string { return filepath.Join(dir, segmentName(i)) }

// parseIndex parses a name of at least 8 decimal digits and nothing else.
func parseIndex(name string) (int, bool) {
	if len(name) < 8 {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(name)
	return n, err == nil
}

// listSegments returns the indexes of the segment files in dir, ascending.
func listSegments(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments in %s: %w", dir, err)
	}
	var segs []int
	for _, e := range ents {
		if i, ok := parseIndex(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, i)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

// checkpointDir describes one checkpoint directory found in a WAL directory.
type checkpointDir struct {
	name string // base name
	upTo int    // last segment the checkpoint covers
	tmp  bool   // an unfinished checkpoint.NNNNNNNN.tmp
}

// listCheckpoints returns the checkpoint directories in dir, ordered by upTo.
func listCheckpoints(dir string) ([]checkpointDir, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints in %s: %w", dir, err)
	}
	var cps []checkpointDir
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), checkpointPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		base, tmp := strings.CutSuffix(name, tmpSuffix)
		if i, ok := parseIndex(base); ok {
			cps = append(cps, checkpointDir{name: e.Name(), upTo: i, tmp: tmp})
		}
	}
	slices.SortFunc(cps, func(a, b checkpointDir) int { return a.upTo - b.upTo })
	return cps, nil
}

// contiguous returns segs[i:j] covering from..to, or an error matching
// ErrMissingSegment naming the first index missing from the range.
func contiguous(dir string, segs []int, from, to int) ([]int, error) {
	i, _ := slices.BinarySearch(segs, from)
	want := from
	for j := i; want <= to; j++ {
		if j >= len(segs) || segs[j] != want {
			return nil, fmt.Errorf("%w: segment %d missing from %s (range %d..%d)", ErrMissingSegment, want, dir, from, to)
		}
		want++
	}
	return segs[i : i+to-from+1], nil
}

// gap is a run of missing segment indexes, first..last inclusive.
type gap struct{ first, last int }

// gaps returns the runs of indexes missing from segs, which is sorted and
// holds no index below from, between from and its last element.
func gaps(segs []int, from int) []gap {
	var out []gap
	want := from
	for _, s := range segs {
		if s > want {
			out = append(out, gap{want, s - 1})
		}
		want = s + 1
	}
	return out
}

// checkGaps returns an error matching ErrMissingSegment if segs, the
// segments left after a checkpoint up to upTo (-1 for none), do not run
// without a gap from upTo+1. A checkpoint deletes only the segments it
// covers and Cut never skips an index, so a gap means records were lost.
func checkGaps(dir string, upTo int, segs []int) error {
	g := gaps(segs, upTo+1)
	if len(g) == 0 {
		return nil
	}
	covered := "no checkpoint covers them"
	if upTo >= 0 {
		covered = fmt.Sprintf("the checkpoint covers segments up to %d", upTo)
	}
	return fmt.Errorf("%w: segments %d..%d missing from %s (%s): their records are lost",
		ErrMissingSegment, g[0].first, g[0].last, dir, covered)
}

// maxFilled bounds how many missing segments a repair recreates: more
// suggests a stray file with a large index rather than lost segments.
const maxFilled = 1 << 16

// fillGaps recreates the segments missing from segs between from and its
// last element as empty files, so that the rest replays, and logs each
// gap. It returns the segments now present.
func fillGaps(dir string, from int, segs []int, logger *slog.Logger) ([]int, error) {
	g := gaps(segs, from)
	if len(g) == 0 {
		return segs, nil
	}
	n := 0
	for _, r := range g {
		n += r.last - r.first + 1
	}
	if n > maxFilled {
		return nil, fmt.Errorf("%w: %d segments missing from %s between %d and %d, more than a repair recreates (%d)",
			ErrMissingSegment, n, dir, from, segs[len(segs)-1], maxFilled)
	}
	for _, r := range g {
		for i := r.first; i <= r.last; i++ {
			f, err := os.OpenFile(segmentPath(dir, i), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
			if err != nil {
				return nil, fmt.Errorf("recreate missing segment %d: %w", i, err)
			}
			if err := f.Close(); err != nil {
				return nil, fmt.Errorf("recreate missing segment %d: %w", i, err)
			}
		}
		logger.Warn("WAL segments missing; recreated empty so that the later ones replay: their records are lost",
			"dir", dir, "first", r.first, "last", r.last, "segments", r.last-r.first+1)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return listSegments(dir)
}

// cleanTemp removes what an interrupted segment rewrite (NNNNNNNN.tmp) or
// write probe left in dir.
func cleanTemp(dir string, logger *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range ents {
		base, tmp := strings.CutSuffix(e.Name(), tmpSuffix)
		_, seg := parseIndex(base)
		if !e.Type().IsRegular() || (e.Name() != probeName && !(tmp && seg)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove leftover %s: %w", e.Name(), err)
		}
		logger.Info("removed leftover WAL temporary file", "dir", dir, "file", e.Name())
	}
	return nil
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s for fsync: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// createSegment creates segment i in dir through create, failing if it
// exists, and fsyncs dir so that the new name is durable before records are
// acknowledged in it.
func createSegment(create func(string) (File, error), dir string, i int) (File, error) {
	f, err := create(segmentPath(dir, i))
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", i, err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close() // the sync error is the one worth reporting
		return nil, fmt.Errorf("create segment %d: %w", i, err)
	}
	return f, nil
}

// File is the part of *os.File through which a WAL writes its segments.
// Options.CreateFile may supply another implementation, to inject faults.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// createFile creates path for writing, failing if it exists.
func createFile(path string) (File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil File
	}
	return f, nil
}
