package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The constants below are part of the on-disk format (docs/format/wal.md).
// Changing any of them makes existing WAL directories unreadable.
const (
	// headerSize is the size of a record's frame: a 4-byte little-endian
	// word holding the payload length and codec id (see codecShift),
	// followed by the 4-byte CRC32C of the payload.
	headerSize = 8

	// MaxSegmentSize is the largest segment a WAL writes, and the default.
	// Keeping segments bounded keeps tail repair and truncation cheap.
	MaxSegmentSize = 128 << 20

	// minSegmentSize is the smallest SegmentSize Options accepts: one header
	// and one payload byte must fit.
	minSegmentSize = headerSize + 1
)

// castagnoli is CRC32C. It is computed in hardware on amd64 and arm64, and
// detects more error patterns than the IEEE polynomial on short records.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// ErrCorrupt is matched by every *CorruptionError, so callers can test
	// errors.Is(err, ErrCorrupt) without caring about the position.
	ErrCorrupt = errors.New("wal: corrupt record")

	// ErrClosed is returned by every operation on a WAL after Close.
	ErrClosed = errors.New("wal: closed")

	// ErrEmptyRecord is returned by Log for a zero-length record. Empty
	// records are invalid so that a zero-filled tail reads as corruption.
	ErrEmptyRecord = errors.New("wal: empty record")

	// ErrRecordTooLarge is returned by Log for a record longer than the
	// segment size minus the 8-byte frame, since records never span segments.
	ErrRecordTooLarge = errors.New("wal: record too large")

	// ErrNoCheckpoint is returned by LastCheckpoint when the directory holds
	// no completed checkpoint.
	ErrNoCheckpoint = errors.New("wal: no checkpoint")

	// ErrMissingSegment is matched by the errors of Open, NewReader and
	// NewCheckpointReader for a segment that should be there and is not:
	// a gap between segments, a first segment after the one the newest
	// checkpoint (or, without one, segment 0) leaves off at, or a
	// checkpoint not starting at its segment 0. Its records are lost;
	// Options.Repair accepts that and goes on.
	ErrMissingSegment = errors.New("wal: missing segment")

	// ErrUnavailable is matched by every *UnavailableError: the error of
	// Log, Cut and Sync while the WAL cannot write.
	ErrUnavailable = errors.New("wal: unavailable")
)

// CorruptionError reports a record that cannot be read back: a torn or
// zero-filled frame, a length that runs past the end of the segment, or a
// checksum mismatch. Offset is the byte position of the bad record's frame
// in the segment, which is also the end of the last good record before it.
type CorruptionError struct {
	Dir     string // directory holding the segment
	Segment int    // index of the segment
	Offset  int64  // offset of the bad record's frame within the segment
	Err     error  // what was wrong
}

// Error implements error.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corrupt record in %s segment %d at offset %d: %v", e.Dir, e.Segment, e.Offset, e.Err)
}

// Unwrap returns the underlying cause.
func (e *CorruptionError) Unwrap() error { return e.Err }

// Is reports whether target is ErrCorrupt, so that errors.Is works on a
// CorruptionError whose cause is not itself ErrCorrupt.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

// appendRecord appends the framed rec to dst. The caller has checked that
// rec is non-empty and short enough for a segment.
func appendRecord(dst, rec []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rec)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(rec, castagnoli))
	return append(dst, rec...)
}

// checkRecord validates one record against the segment size.
func checkRecord(rec []byte, segmentSize int64) error {
	if len(rec) == 0 {
		return ErrEmptyRecord
	}
	if int64(len(rec)) > segmentSize-headerSize {
		return fmt.Errorf("%w: %d bytes, at most %d fit a %d-byte segment",
			ErrRecordTooLarge, len(rec), segmentSize-headerSize, segmentSize)
	}
	return nil
}

// fitRecords returns the length of the longest prefix of buf, a sequence of
// whole framed records, that is at most room bytes long.
func fitRecords(buf []byte, room int64) int {
	if int64(len(buf)) <= room {
		return len(buf)
	}
	n := 0
	for n+headerSize <= len(buf) {
		length, _ := splitWord(binary.LittleEndian.Uint32(buf[n:]))
		next := n + headerSize + length
		if int64(next) > room {
			break
		}
		n = next
	}
	return n
}
