package head

import "errors"

// Errors returned by Appender.Append and Commit. All but ErrClosed and
// ErrUnavailable are for samples the head will never accept; callers map
// them to client errors. None means data already acknowledged was lost.
// A timestamp outside the accepted range is refused with
// model.ErrTimestampOutOfRange, shared with the other packages.
var (
	// ErrOutOfWindow: the sample is older than the newest sample of its series
	// by more than the out-of-order window, or older than the head retention.
	ErrOutOfWindow = errors.New("sample is older than the out-of-order window")
	// ErrDuplicateSample: a sample with the same timestamp and a different
	// value is already stored. The same timestamp and the same value (bit for
	// bit) is accepted silently, so retried requests are harmless.
	ErrDuplicateSample = errors.New("duplicate sample for timestamp with a different value")
	// ErrInvalidLabels: the label set is empty.
	ErrInvalidLabels = errors.New("series has no labels")
	// ErrClosed: the head was closed.
	ErrClosed = errors.New("head is closed")
	// ErrUnavailable: the WAL cannot be written for now (a full disk, a
	// failed fsync), so the commit was refused and nothing of it
	// acknowledged; retrying later is safe. The error also wraps the WAL's
	// own *wal.UnavailableError. The head retries the WAL in the background
	// and commits succeed again once it writes; WALError says meanwhile
	// why they fail.
	ErrUnavailable = errors.New("storage unavailable: the write-ahead log cannot be written")
)
