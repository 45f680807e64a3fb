package replication

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// metrics are the distributor's gorilla_replication_* metrics.
type metrics struct {
	reg          prometheus.Registerer
	cs           []prometheus.Collector
	commits      *prometheus.CounterVec
	duration     prometheus.Histogram
	noQuorum     prometheus.Counter
	pushes       *prometheus.CounterVec
	pushFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reg: reg,
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_replication_commits_total",
			Help: "Replicated writes by result: ok, rejected (some samples refused as invalid) or unavailable (no write quorum).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gorilla_replication_commit_duration_seconds",
			Help:    "Time from the start of a replicated commit until every series had its write quorum or one lost it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		noQuorum: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_replication_no_quorum_total",
			Help: "Writes refused before sending because a series had fewer healthy replicas than the write quorum.",
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_replication_pushes_total",
			Help: "Batches sent to other replicas, by replica.",
		}, []string{"replica"}),
		pushFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_replication_push_failures_total",
			Help: "Batches another replica did not store (error, 5xx, timeout), by replica.",
		}, []string{"replica"}),
	}
	m.cs = []prometheus.Collector{m.commits, m.duration, m.noQuorum, m.pushes, m.pushFailures}
	if err := metricsreg.Register(reg, m.cs); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) unregister() { metricsreg.Unregister(m.reg, m.cs) }

// observe counts one commit that ended with err after d.
func (m *metrics) observe(err error, d time.Duration) {
	m.duration.Observe(d.Seconds())
	switch {
	case err == nil:
		m.commits.WithLabelValues("ok").Inc()
	case errors.Is(err, model.ErrNoQuorum):
		m.commits.WithLabelValues("unavailable").Inc()
	default:
		m.commits.WithLabelValues("rejected").Inc()
	}
}
