package block

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
)

// compactMetrics are the replica compactor's self-metrics.
type compactMetrics struct {
	reg      prometheus.Registerer
	cs       []prometheus.Collector
	runs     prometheus.Counter
	merged   prometheus.Counter
	deleted  prometheus.Counter
	failures prometheus.Counter
}

// newCompactMetrics creates the compactor's metrics and registers them with
// reg if it is not nil. On error nothing stays registered.
func newCompactMetrics(reg prometheus.Registerer) (*compactMetrics, error) {
	m := &compactMetrics{
		reg: reg,
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_compaction_runs_total",
			Help: "Passes of the replica compaction.",
		}),
		merged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_compaction_blocks_merged_total",
			Help: "Merged blocks uploaded, each from the raw blocks of one window.",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_compaction_replicas_deleted_total",
			Help: "Blocks deleted from the bucket once merged into a compacted block.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_compaction_failures_total",
			Help: "Failed bucket listings and window merges of the replica compaction.",
		}),
	}
	m.cs = []prometheus.Collector{m.runs, m.merged, m.deleted, m.failures}
	if err := metricsreg.Register(reg, m.cs); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *compactMetrics) unregister() { metricsreg.Unregister(m.reg, m.cs) }
