package remote

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Appendable is the store the write handler appends to. It is satisfied by
// the head; the remote package never depends on the head's concrete type.
// Its errors are model's. Package remotetest holds the contract as a test
// that every implementation runs (remotetest.TestAppendable).
type Appendable interface {
	// Appender returns a fresh appender for one request. It is used by one
	// goroutine and ends with exactly one call to Commit or Rollback.
	Appender() Appender
}

// TenantAppendable is an Appendable holding the stores of many tenants.
// When the write handler's store implements it, each request is appended
// through TenantAppender with the request's tenant, never through
// Appender. An error (the tenant's store cannot be opened) ends the
// request as Appender's errors do: model.ErrUnavailable gives 503, any
// other error 500.
type TenantAppendable interface {
	Appendable
	TenantAppender(tenant string) (Appender, error)
}

// Appender buffers the samples of one write request until Commit.
//
// The series label set passed to Append and AppendExemplar is valid only
// during the call: its memory is reused for the next series, so a store that
// keeps labels (when it creates a series) must copy them. Exemplar labels
// are freshly built and may be kept. Every other argument is owned by the
// store after the call returns.
type Appender interface {
	// Append stores one float sample. ref is 0 or a ref returned earlier by
	// this appender for the same labels; it lets the store skip the series
	// lookup and is valid only within this appender. The returned ref is
	// the series' ref, also when an error is returned for the sample.
	// Errors matching model.ErrOutOfWindow, model.ErrDuplicateSample (another
	// value at a committed timestamp; the same value bit for bit is accepted
	// silently), model.ErrInvalidLabels (empty labels) and
	// model.ErrTimestampOutOfRange (outside [model.MinTime, model.MaxTime])
	// reject only this sample. model.ErrSeriesLimit and model.ErrMemoryLimit
	// refuse to create the series: its samples are refused (400, and 503
	// for the memory limit), the other series go on; a *limits.Error
	// around them gives the reason label. model.ErrClosed and any other
	// error end the request.
	Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error)
	// AppendHistogram stores one native histogram sample: exactly one of h
	// (integer counts) and fh (float counts) is non-nil; the histogram has
	// passed its Validate check and is owned by the store after the call.
	// ref and the returned ref are as for Append, and so are the errors;
	// a histogram the store cannot take (another histogram or a float at a
	// stored timestamp) fails with model.ErrDuplicateSample.
	AppendHistogram(ref model.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (model.SeriesRef, error)
	// AppendExemplar attaches an exemplar to the series ref or lset.
	AppendExemplar(ref model.SeriesRef, lset labels.Labels, e model.Exemplar) (model.SeriesRef, error)
	// UpdateMetadata records the metadata of a metric family.
	UpdateMetadata(metricFamily string, m model.Metadata) error
	// Commit makes the buffered samples durable and readable. It returns
	// after the WAL write; only then may the request be acknowledged. It
	// fails with model.ErrUnavailable when the store cannot write for now
	// (nothing of the batch is kept) and model.ErrClosed once the store is
	// closed. A store that keeps copies elsewhere (a cluster) may also fail
	// it with model.ErrRejected when a copy refused samples for client
	// reasons (400; the rest is stored) or model.ErrMemoryLimit (503).
	Commit() error
	// Rollback discards everything buffered since the appender was made.
	Rollback() error
}
