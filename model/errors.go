package model

import "errors"

// Errors shared by the storage packages and the protocols above them: the
// head returns them from its appender, the remote-write handler maps them to
// HTTP status codes, and any other store behind the remote-write appender
// contract returns the same ones. Callers test for them with errors.Is; the
// errors returned around them carry the details (the series, the timestamp).
//
// ErrOutOfWindow, ErrDuplicateSample, ErrInvalidLabels and
// ErrTimestampOutOfRange are for samples the store will never accept: they
// are client errors. ErrClosed and ErrUnavailable are the store's own state:
// retrying later or elsewhere is safe. None of them means data already
// acknowledged was lost.
var (
	// ErrTimestampOutOfRange: a sample or exemplar timestamp lies outside
	// [MinTime, MaxTime], the range the store can hold and compute with
	// (see time.go). Such data is refused for good; it is a client error.
	ErrTimestampOutOfRange = errors.New("timestamp out of the range the store accepts")
	// ErrOutOfWindow: the sample is older than the newest sample of its
	// series by more than the out-of-order window, or older than what the
	// store still holds in memory (its retention, or a window already sealed
	// into a block).
	ErrOutOfWindow = errors.New("sample is older than the out-of-order window")
	// ErrDuplicateSample: a sample with the same timestamp and a different
	// value is already stored. The same timestamp and the same value (bit for
	// bit, see SameValue) is accepted silently, so retried requests are
	// harmless.
	ErrDuplicateSample = errors.New("duplicate sample for timestamp with a different value")
	// ErrInvalidLabels: the label set is empty.
	ErrInvalidLabels = errors.New("series has no labels")
	// ErrClosed: the store was closed; nothing more is appended or
	// committed.
	ErrClosed = errors.New("store is closed")
	// ErrUnavailable: the write-ahead log cannot be written for now (a full
	// disk, a failed fsync), so the commit was refused and nothing of it
	// acknowledged; retrying later is safe. The head wraps the WAL's own
	// error beside it (errors.As finds a *wal.UnavailableError), retries the
	// WAL in the background and commits again once it writes.
	ErrUnavailable = errors.New("storage unavailable: the write-ahead log cannot be written")
)

// Errors of the limits that guard the store. Both refuse only the creation
// of a new series: samples for series the store holds are still accepted.
var (
	// ErrSeriesLimit: the series would exceed a series limit (of the tenant,
	// or of its metric name). It is a client error: the sender must send
	// fewer series, or the operator raise the limit.
	ErrSeriesLimit = errors.New("series limit exceeded")
	// ErrMemoryLimit: the store's memory is near its limit, so no new series
	// is created for now. It is transient: retrying later is safe.
	ErrMemoryLimit = errors.New("memory limit reached")
)

// ErrRejected: a replica of the cluster refused some samples of a commit for
// client reasons (one of the errors above that refuse a sample or a series).
// The rest of the commit is stored; the error around it names the series and
// the replica's reason. It is a client error, as the refusal on a single
// node would be.
var ErrRejected = errors.New("samples refused by a replica")

// ErrNoQuorum: a write of the cluster could not reach its write quorum (too
// few healthy replicas, or too many failed), so it is not acknowledged;
// retrying later is safe. It is the cluster's counterpart of ErrUnavailable:
// both are answered 503 with Retry-After.
var ErrNoQuorum = errors.New("no write quorum")
