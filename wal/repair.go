package wal

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// maxLoggedRanges bounds the damaged ranges of one segment logged one by
// one; the summary line always gives the totals.
const maxLoggedRanges = 16

// repairSegment reads segment i of dir and, if a record in it cannot be read
// back, drops only the damaged bytes (docs/format/wal.md, "Repair rules"):
//
//   - when nothing intact follows the first bad frame (a torn or zero-filled
//     tail, what a crash leaves), the file is truncated there and fsynced;
//   - otherwise the segment is rewritten without its damaged ranges, the
//     intact records before, between and after them kept in order: into a
//     temporary file that is fsynced and renamed over the segment, and the
//     directory fsynced.
//
// Either way a warning gives the segment, each damaged range and the bytes
// dropped. A damaged range holds at least one record; how many is unknown,
// since its bytes cannot be read. The segment reads back cleanly after.
func repairSegment(dir string, i int, logger *slog.Logger) error {
	ce, err := firstCorruption(dir, i)
	if err != nil || ce == nil {
		return err
	}
	path := segmentPath(dir, i)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("repair segment %d: %w", i, err)
	}
	kept := 0
	bad := scanSegment(data, func(off, _ int) {
		if int64(off) > ce.Offset {
			kept++
		}
	})
	if len(bad) == 0 || int64(bad[0].off) != ce.Offset {
		// The Reader and the scan apply the same rules to the same bytes.
		return fmt.Errorf("BUG: repair segment %d: the reader stopped at offset %d, the scan found %v", i, ce.Offset, bad)
	}
	if len(bad) == 1 && bad[0].end == len(data) {
		return truncateSegment(dir, i, ce, int64(len(data)), logger)
	}
	dropped := 0
	for n, r := range bad {
		dropped += r.end - r.off
		if n < maxLoggedRanges {
			logger.Warn("WAL segment has damaged bytes; dropping them", "dir", dir, "segment", i,
				"offset", r.off, "bytes", r.end-r.off, "reason", r.reason)
		}
	}
	if err := rewriteSegment(path, data, bad); err != nil {
		return fmt.Errorf("repair segment %d: %w", i, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("repair segment %d: %w", i, err)
	}
	logger.Warn("WAL segment repaired: damaged bytes dropped, the intact records around them kept",
		"dir", dir, "segment", i, "damaged_ranges", len(bad), "bytes_dropped", dropped,
		"records_kept_after_damage", kept, "size_before", len(data), "size_after", len(data)-dropped)
	return nil
}

// firstCorruption reads segment i of dir and returns its first bad frame,
// or nil if every record reads back.
func firstCorruption(dir string, i int) (*CorruptionError, error) {
	r, err := NewReader(dir, i, i)
	if err != nil {
		return nil, err
	}
	// The checksums decide what is damaged; payloads need no decoding.
	r.raw = true
	for r.Next() {
	}
	rerr := r.Err()
	if err := r.Close(); err != nil {
		return nil, err
	}
	if rerr == nil {
		return nil, nil
	}
	var ce *CorruptionError
	if !errors.As(rerr, &ce) {
		return nil, fmt.Errorf("repair segment %d: %w", i, rerr)
	}
	return ce, nil
}

// truncateSegment cuts segment i at ce.Offset and makes the cut durable.
func truncateSegment(dir string, i int, ce *CorruptionError, size int64, logger *slog.Logger) error {
	f, err := os.OpenFile(segmentPath(dir, i), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("repair segment %d: %w", i, err)
	}
	err = f.Truncate(ce.Offset)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("repair segment %d: truncate at offset %d: %w", i, ce.Offset, err)
	}
	logger.Warn("WAL segment has a torn or corrupt tail; cut at the last good record",
		"dir", dir, "segment", i, "offset", ce.Offset, "bytes_dropped", size-ce.Offset, "reason", ce.Err)
	return nil
}

// rewriteSegment replaces the file at path by data without the bad ranges,
// through path.tmp, fsynced before the rename. A crash leaves either the old
// file or the new one, and at worst a path.tmp that Open removes.
func rewriteSegment(path string, data []byte, bad []damagedRange) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	err = writeKept(f, data, bad)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("rewrite %s: %w", path, err), removeIfExists(tmp))
	}
	return nil
}

// writeKept writes data without the bad ranges, which are in order.
func writeKept(w io.Writer, data []byte, bad []damagedRange) error {
	from := 0
	for _, r := range bad {
		if _, err := w.Write(data[from:r.off]); err != nil {
			return err
		}
		from = r.end
	}
	_, err := w.Write(data[from:])
	return err
}

// removeIfExists removes path, treating a missing file as removed.
func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
