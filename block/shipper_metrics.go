package block

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
)

// shipperMetrics are the shipper's self-metrics; pending is the upload
// backlog an operator watches while the bucket is unreachable.
type shipperMetrics struct {
	reg           prometheus.Registerer
	cs            []prometheus.Collector
	pending       prometheus.Gauge
	sealed        prometheus.Counter
	deleted       prometheus.Counter
	uploads       *prometheus.CounterVec
	uploadSeconds prometheus.Histogram
}

// newShipperMetrics creates the shipper's metrics and registers them with
// reg if it is not nil. On error nothing stays registered.
func newShipperMetrics(reg prometheus.Registerer, pending int) (*shipperMetrics, error) {
	m := &shipperMetrics{
		reg: reg,
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gorilla_shipper_pending_blocks",
			Help: "Sealed blocks on local disk waiting for their upload.",
		}),
		sealed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_shipper_sealed_blocks_total",
			Help: "Blocks sealed from closed head windows.",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_shipper_deleted_blocks_total",
			Help: "Blocks deleted from the bucket past --storage.retention.",
		}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_shipper_uploads_total",
			Help: "Block uploads by result (success, error).",
		}, []string{"result"}),
		uploadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gorilla_shipper_upload_duration_seconds",
			Help:    "Time to upload one block.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}),
	}
	m.pending.Set(float64(pending))
	m.uploads.WithLabelValues("success")
	m.uploads.WithLabelValues("error")
	m.cs = []prometheus.Collector{m.pending, m.sealed, m.deleted, m.uploads, m.uploadSeconds}
	if err := metricsreg.Register(reg, m.cs); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *shipperMetrics) unregister() { metricsreg.Unregister(m.reg, m.cs) }
