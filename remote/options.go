package remote

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/limits"
)

// Defaults of WriteOptions and ReadOptions. The per-tenant limits (labels,
// series, ingestion rate) have theirs in package limits.
const (
	DefaultMaxCompressedBytes = 64 << 20
	DefaultMaxDecodedBytes    = 100 << 20
	DefaultMaxFutureSkew      = 10 * time.Minute
	DefaultRetryAfter         = 5 * time.Second
	DefaultMaxInflightWrites  = 256

	DefaultMaxSamplesPerQuery = 50_000_000
	DefaultMaxConcurrentReads = 10
	DefaultMaxBytesInFrame    = 1 << 20
)

// WriteOptions configure the remote-write handler. The zero value is valid:
// every zero field takes its default.
type WriteOptions struct {
	// Registerer receives the handler's metrics; nil registers nothing.
	// Two handlers must not share one Registerer.
	Registerer prometheus.Registerer
	// Logger logs internal errors; nil discards.
	Logger *slog.Logger
	// Now is the clock used to judge future timestamps; nil means time.Now.
	Now func() time.Time

	// MaxCompressedBytes bounds the request body as sent (413 above it).
	// Default DefaultMaxCompressedBytes.
	MaxCompressedBytes int
	// MaxDecodedBytes bounds the length a snappy body declares once
	// decompressed; it is checked before anything is allocated (413 above
	// it). A tenant whose limits set MaxRequestBytes is bounded by that
	// instead. Default DefaultMaxDecodedBytes.
	MaxDecodedBytes int
	// Limits are the per-tenant limits the handler enforces: the label
	// limits (400 for a series over them) and the ingestion rate (429 with
	// Retry-After for a request over it). The series limits are the
	// store's to enforce; the handler maps its errors (see Appender).
	// Default: limits.Defaults() for every tenant.
	Limits *limits.Overrides
	// MaxFutureSkew is how far ahead of Now a sample may be. Default 10m.
	MaxFutureSkew time.Duration
	// RetryAfter is sent with 503 answers. Default 5s; whole seconds.
	RetryAfter time.Duration
	// MaxInflight bounds the requests handled at once, from the moment
	// their headers are read until they are answered. One more is answered
	// 503 with Retry-After at once rather than queued, so that overload
	// sheds to the senders' retries instead of piling up memory.
	// Default DefaultMaxInflightWrites.
	MaxInflight int

	// CreatedTimestampZeroIngestion makes a remote-write 2.0 series whose
	// created (start) timestamp is set and older than its first sample get
	// an extra sample of value 0 at the created timestamp, so that rate()
	// sees the counter start from zero. Off by default.
	CreatedTimestampZeroIngestion bool
}

// withDefaults returns o with every zero field set to its default.
func (o WriteOptions) withDefaults() WriteOptions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == nil {
		// Defaults() is valid and there is no file: this cannot fail.
		o.Limits, _ = limits.NewOverrides(limits.Defaults(), "")
	}
	setDefault(&o.MaxCompressedBytes, DefaultMaxCompressedBytes)
	setDefault(&o.MaxDecodedBytes, DefaultMaxDecodedBytes)
	setDefault(&o.MaxFutureSkew, DefaultMaxFutureSkew)
	setDefault(&o.RetryAfter, DefaultRetryAfter)
	setDefault(&o.MaxInflight, DefaultMaxInflightWrites)
	return o
}

// ReadOptions configure the remote-read handler. The zero value is valid:
// every zero field takes its default.
type ReadOptions struct {
	// Registerer receives the handler's metrics; nil registers nothing.
	// Two handlers must not share one Registerer.
	Registerer prometheus.Registerer
	// Logger logs internal errors; nil discards.
	Logger *slog.Logger

	// MaxDecodedBytes bounds the decompressed request. Default 100 MiB.
	MaxDecodedBytes int
	// MaxSamplesPerQuery bounds the samples one query of a request may
	// return (400 above it). Default 50,000,000.
	MaxSamplesPerQuery int
	// MaxConcurrent bounds the requests served at once; more wait for a
	// slot until their context ends. Default 10.
	MaxConcurrent int
	// MaxBytesInFrame bounds the chunk bytes of one streamed frame.
	// Default 1 MiB.
	MaxBytesInFrame int
	// WriteTimeout bounds the sending of an answer: the connection's write
	// deadline is set to now plus WriteTimeout before an answer is written
	// and again before each frame of a streamed one. A stream to a client
	// that keeps reading is never cut, however long; one to a client that
	// stopped reading fails after WriteTimeout and frees its slot. 0 leaves
	// the server's write timeout in force.
	WriteTimeout time.Duration
}

// withDefaults returns o with every zero field set to its default.
func (o ReadOptions) withDefaults() ReadOptions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&o.MaxDecodedBytes, DefaultMaxDecodedBytes)
	setDefault(&o.MaxSamplesPerQuery, DefaultMaxSamplesPerQuery)
	setDefault(&o.MaxConcurrent, DefaultMaxConcurrentReads)
	setDefault(&o.MaxBytesInFrame, DefaultMaxBytesInFrame)
	return o
}

// setDefault sets *v to def when it is zero or negative.
func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
