package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// repairTail reads segment i of dir and, if a record in it cannot be read
// back, truncates the file at the end of the last good record and fsyncs
// it. Only the last segment is repaired this way: a crash can tear only the
// write in progress, which is always in the last segment, while a bad
// record anywhere else is damage the operator must hear about.
func repairTail(dir string, i int, logger *slog.Logger) error {
	r, err := NewReader(dir, i, i)
	if err != nil {
		return err
	}
	for r.Next() {
	}
	rerr := r.Err()
	if err := r.Close(); err != nil {
		return err
	}
	var ce *CorruptionError
	if rerr == nil {
		return nil
	}
	if !errors.As(rerr, &ce) {
		return fmt.Errorf("repair segment %d: %w", i, rerr)
	}
	return truncateSegment(dir, i, ce, logger)
}

// truncateSegment cuts segment i at ce.Offset and makes the cut durable.
func truncateSegment(dir string, i int, ce *CorruptionError, logger *slog.Logger) error {
	path := segmentPath(dir, i)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("repair segment %d: %w", i, err)
	}
	st, err := f.Stat()
	if err == nil {
		err = f.Truncate(ce.Offset)
	}
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
		"dir", dir, "segment", i, "offset", ce.Offset, "bytes_dropped", st.Size()-ce.Offset, "reason", ce.Err)
	return nil
}
