package remote

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
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
	reasonInvalidLabels   = "invalid_labels"
	reasonTooManyLabels   = "too_many_labels"
	reasonNameTooLong     = "label_name_too_long"
	reasonValueTooLong    = "label_value_too_long"
	reasonFuture          = "too_far_in_future"
	reasonOutOfWindow     = "out_of_window"
	reasonDuplicate       = "duplicate_sample"
	reasonNativeHistogram = "native_histogram"
	reasonInvalidSymbol   = "invalid_symbol_ref"
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
			Help: "Float samples stored from remote-write requests.",
		}),
		samplesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_remote_write_samples_rejected_total",
			Help: "Samples (float and histogram) refused, by reason.",
		}, []string{"reason"}),
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
	if err := registerAll(reg, m.cs); err != nil {
		return nil, fmt.Errorf("remote-write metrics: %w", err)
	}
	return m, nil
}

func (m *writeMetrics) unregister() { unregisterAll(m.reg, m.cs) }

// registerAll registers cs with reg (nothing when reg is nil). On the first
// failure it unregisters those it registered and returns an error naming
// the metric, so a clash never panics and never leaves half the set behind.
func registerAll(reg prometheus.Registerer, cs []prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			unregisterAll(reg, cs[:i])
			return fmt.Errorf("register metric %s: %w", collectorName(c), err)
		}
	}
	return nil
}

// unregisterAll unregisters cs from reg (nothing when reg is nil).
func unregisterAll(reg prometheus.Registerer, cs []prometheus.Collector) {
	if reg == nil {
		return
	}
	for _, c := range cs {
		reg.Unregister(c)
	}
}

// collectorName returns the name of the first metric c describes, for error
// messages. Desc has no accessor for it, so it is read from Desc.String,
// which prints it as fqName: "<name>".
func collectorName(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc, 1)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	name := "(unnamed)"
	for d := range ch {
		if s, ok := strings.CutPrefix(d.String(), `Desc{fqName: "`); ok && name == "(unnamed)" {
			if end := strings.IndexByte(s, '"'); end >= 0 {
				name = s[:end]
			}
		}
	}
	return name
}
