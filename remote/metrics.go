package remote

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
)

// Handler is an HTTP handler that registered metrics: Close unregisters
// them, so the registry can take a new handler. Serving after Close still
// works; it only counts into metrics nobody collects.
type Handler interface {
	http.Handler
	Close()
}

// Reasons a sample is rejected, the values of the reason label.
const (
	reasonInvalidLabels = "invalid_labels"
	reasonTooManyLabels = "too_many_labels"
	reasonNameTooLong   = "label_name_too_long"
	reasonValueTooLong  = "label_value_too_long"
	reasonFuture        = "too_far_in_future"
	reasonOutOfWindow   = "out_of_window"
	reasonDuplicate     = "duplicate_sample"
	// A native histogram that fails Prometheus's validity checks.
	reasonInvalidHistogram = "invalid_histogram"
	reasonInvalidSymbol    = "invalid_symbol_ref"
	// The timestamp lies outside the range the store accepts
	// (model.MinTime, model.MaxTime).
	reasonTimestampOutOfRange = "timestamp_out_of_range"
)

// writeMetrics are the remote-write handler's metrics.
type writeMetrics struct {
	reg               prometheus.Registerer
	cs                []prometheus.Collector
	samplesIngested   prometheus.Counter
	samplesRejected   *prometheus.CounterVec
	exemplarsIngested prometheus.Counter
	exemplarsRejected prometheus.Counter
	metadataUpdates   prometheus.Counter
	duration          *prometheus.HistogramVec
}

// newWriteMetrics creates the metrics and registers them with reg if it is
// not nil. On error nothing stays registered.
func newWriteMetrics(reg prometheus.Registerer) (*writeMetrics, error) {
	m := &writeMetrics{
		reg: reg,
		samplesIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_remote_write_samples_ingested_total",
			Help: "Samples (float and native histogram) stored from remote-write requests.",
		}),
		samplesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_remote_write_samples_rejected_total",
			Help: "Samples (float and histogram) refused, by reason and tenant (docs/limits.md lists the reasons of the limits).",
		}, []string{"reason", "tenant"}),
		exemplarsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_remote_write_exemplars_ingested_total",
			Help: "Exemplars stored from remote-write requests.",
		}),
		exemplarsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_remote_write_exemplars_rejected_total",
			Help: "Exemplars refused by validation or by the store.",
		}),
		metadataUpdates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_remote_write_metadata_updates_total",
			Help: "Metric metadata entries passed to the store.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "gorilla_remote_write_request_duration_seconds",
			Help:                        "Time to answer a remote-write request, by protocol version and status code.",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1,
		}, []string{"protocol", "code"}),
	}
	m.cs = []prometheus.Collector{
		m.samplesIngested, m.samplesRejected, m.exemplarsIngested,
		m.exemplarsRejected, m.metadataUpdates, m.duration,
	}
	if err := metricsreg.Register(reg, m.cs); err != nil {
		return nil, fmt.Errorf("remote-write metrics: %w", err)
	}
	return m, nil
}

func (m *writeMetrics) unregister() { metricsreg.Unregister(m.reg, m.cs) }
