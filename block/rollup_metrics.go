package block

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
)

// rollupMetrics are the roll-up job's self-metrics.
type rollupMetrics struct {
	reg        prometheus.Registerer
	cs         []prometheus.Collector
	blocks     *prometheus.CounterVec
	failures   prometheus.Counter
	rawDeleted prometheus.Counter
}

// newRollupMetrics creates the roll-up job's metrics and registers them
// with reg if it is not nil. On error nothing stays registered.
func newRollupMetrics(reg prometheus.Registerer, resolutions []int64) (*rollupMetrics, error) {
	m := &rollupMetrics{
		reg: reg,
		blocks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_rollup_blocks_total",
			Help: "Roll-up blocks written and uploaded, by resolution.",
		}, []string{"resolution"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_rollup_failures_total",
			Help: "Roll-ups of one raw block at one resolution that failed.",
		}),
		rawDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_rollup_raw_deleted_total",
			Help: "Raw blocks deleted from the bucket past the raw retention, once rolled up.",
		}),
	}
	for _, res := range resolutions {
		m.blocks.WithLabelValues(resolutionName(res))
	}
	m.cs = []prometheus.Collector{m.blocks, m.failures, m.rawDeleted}
	if err := metricsreg.Register(reg, m.cs); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *rollupMetrics) unregister() { metricsreg.Unregister(m.reg, m.cs) }

// resolutionName renders a resolution in ms the way durations are written
// in flags and PromQL: 5m, 1h, 30s, 250ms.
func resolutionName(res int64) string {
	switch {
	case res > 0 && res%3_600_000 == 0:
		return fmt.Sprintf("%dh", res/3_600_000)
	case res > 0 && res%60_000 == 0:
		return fmt.Sprintf("%dm", res/60_000)
	case res > 0 && res%1000 == 0:
		return fmt.Sprintf("%ds", res/1000)
	}
	return fmt.Sprintf("%dms", res)
}
