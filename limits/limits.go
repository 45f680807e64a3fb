package limits

import (
	"errors"
	"fmt"
	"math"

	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// Anonymous is the tenant of every request while the server runs without
// multi-tenancy (tenant.Anonymous).
const Anonymous = tenant.Anonymous

// Defaults of Limits. The label limits are those of Grafana Mimir, so
// senders tuned for it pass here too. The series and rate limits are off by
// default: on a single-tenant server the memory guard is what protects the
// process, and an operator sets the others to bound one noisy sender.
const (
	DefaultMaxLabelNamesPerSeries = 30
	DefaultMaxLabelNameLength     = 1024
	DefaultMaxLabelValueLength    = 2048
	DefaultIngestionBurst         = 200_000
)

// Limits are the limits of one tenant. For every field, 0 means unlimited,
// except where the field says it means the server's flag.
type Limits struct {
	// MaxSeries bounds the tenant's active series in the head. A sample for
	// a new series past it is refused; existing series keep ingesting.
	MaxSeries int `yaml:"max_series"`
	// MaxSeriesPerMetric bounds the active series of one metric name.
	MaxSeriesPerMetric int `yaml:"max_series_per_metric"`
	// IngestionRate is the samples per second a tenant may send on
	// average (a token bucket refilled at this rate).
	IngestionRate float64 `yaml:"ingestion_rate"`
	// IngestionBurst is the size of the bucket: the most samples taken at
	// once. It must be at least the senders' batch size; a request with
	// more samples than the burst is taken only when the bucket is full,
	// and the debt is repaid before the next. Used only when IngestionRate
	// is set; 0 then means one second of IngestionRate.
	IngestionBurst int `yaml:"ingestion_burst"`
	// MaxLabelNamesPerSeries bounds the labels of one series, __name__
	// included.
	MaxLabelNamesPerSeries int `yaml:"max_label_names_per_series"`
	// MaxLabelNameLength bounds a label name, in bytes.
	MaxLabelNameLength int `yaml:"max_label_name_length"`
	// MaxLabelValueLength bounds a label value, in bytes.
	MaxLabelValueLength int `yaml:"max_label_value_length"`

	// MaxRequestBytes bounds the decompressed body of one remote-write
	// request, as its snappy header declares it (413 above it). 0 means no
	// limit of the tenant's own: the server's (--remote-write.max-decoded-bytes).
	MaxRequestBytes int `yaml:"max_request_bytes"`
	// MaxQuerySamples bounds the samples one PromQL query holds in memory
	// (422 above it). 0 means the server's (--query.max-samples).
	MaxQuerySamples int `yaml:"max_query_samples"`
	// MaxQuerySeries bounds the series one query selects, summed over its
	// selectors (422 above it); /api/v1/series too. 0 means unlimited.
	MaxQuerySeries int `yaml:"max_fetched_series_per_query"`
	// MaxQueryConcurrency bounds the tenant's PromQL queries evaluated at
	// once; the others wait. 0 means the server's (--query.max-concurrency).
	MaxQueryConcurrency int `yaml:"max_query_concurrency"`
}

// Defaults returns the default limits.
func Defaults() Limits {
	return Limits{
		IngestionBurst:         DefaultIngestionBurst,
		MaxLabelNamesPerSeries: DefaultMaxLabelNamesPerSeries,
		MaxLabelNameLength:     DefaultMaxLabelNameLength,
		MaxLabelValueLength:    DefaultMaxLabelValueLength,
	}
}

// Validate returns an error naming every negative, infinite or NaN limit,
// by YAML key.
func (l Limits) Validate() error {
	var errs []error
	check := func(key string, v float64) {
		if !(v >= 0) || math.IsInf(v, 1) { // NaN fails v >= 0
			errs = append(errs, fmt.Errorf("%s: %v must be a finite number, not negative (0 means unlimited)", key, v))
		}
	}
	check("max_series", float64(l.MaxSeries))
	check("max_series_per_metric", float64(l.MaxSeriesPerMetric))
	check("ingestion_rate", l.IngestionRate)
	check("ingestion_burst", float64(l.IngestionBurst))
	check("max_label_names_per_series", float64(l.MaxLabelNamesPerSeries))
	check("max_label_name_length", float64(l.MaxLabelNameLength))
	check("max_label_value_length", float64(l.MaxLabelValueLength))
	check("max_request_bytes", float64(l.MaxRequestBytes))
	check("max_query_samples", float64(l.MaxQuerySamples))
	check("max_fetched_series_per_query", float64(l.MaxQuerySeries))
	check("max_query_concurrency", float64(l.MaxQueryConcurrency))
	return errors.Join(errs...)
}

// Reasons of the errors this package returns: the values of the reason
// label of the discarded-samples metric.
const (
	ReasonSeriesLimit          = "per_tenant_series_limit"
	ReasonSeriesPerMetricLimit = "per_metric_series_limit"
	ReasonMemoryLimit          = "memory_limit"
	ReasonRateLimited          = "rate_limited"
)

// ErrRateLimited: the tenant sent more samples than its ingestion rate and
// burst allow. The request may be retried after the returned delay.
var ErrRateLimited = errors.New("ingestion rate limit exceeded")

// Error is a refusal by a limit. Error() is the message for the sender (it
// names the limit and its value); Reason is its metric label; Unwrap gives
// the sentinel (model.ErrSeriesLimit, model.ErrMemoryLimit, ErrRateLimited).
type Error struct {
	Reason string
	Msg    string
	Err    error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }
