package wal

import (
	"fmt"
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

// contiguous returns segs[i:j] covering from..to, or an error naming the
// first index missing from the range.
func contiguous(dir string, segs []int, from, to int) ([]int, error) {
	i, _ := slices.BinarySearch(segs, from)
	want := from
	for j := i; want <= to; j++ {
		if j >= len(segs) || segs[j] != want {
			return nil, fmt.Errorf("wal: segment %d missing from %s (range %d..%d)", want, dir, from, to)
		}
		want++
	}
	return segs[i : i+to-from+1], nil
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

// createSegment creates segment i in dir, failing if it exists, and fsyncs
// dir so that the new name is durable before records are acknowledged in it.
func createSegment(dir string, i int) (*os.File, error) {
	f, err := os.OpenFile(segmentPath(dir, i), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", i, err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close() // the sync error is the one worth reporting
		return nil, fmt.Errorf("create segment %d: %w", i, err)
	}
	return f, nil
}
