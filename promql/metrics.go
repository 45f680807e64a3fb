package promql

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
)

// metricPrefix starts the name of every metric the engine exports, as it
// does every metric of the product: the upstream engine's
// prometheus_engine_* series appear as gorilla_prometheus_engine_*.
const metricPrefix = "gorilla_"

// capture is a Registerer that keeps what it is given and registers
// nothing. The upstream engine registers its metrics with MustRegister,
// which panics on a clash; handing it a capture lets NewEngine register
// them itself and return the error instead.
type capture struct{ cs []prometheus.Collector }

// Register implements prometheus.Registerer.
func (c *capture) Register(col prometheus.Collector) error {
	c.cs = append(c.cs, col)
	return nil
}

// MustRegister implements prometheus.Registerer.
func (c *capture) MustRegister(cs ...prometheus.Collector) { c.cs = append(c.cs, cs...) }

// Unregister implements prometheus.Registerer.
func (c *capture) Unregister(col prometheus.Collector) bool {
	i := slices.Index(c.cs, col)
	if i < 0 {
		return false
	}
	c.cs = slices.Delete(c.cs, i, i+1)
	return true
}

// engineMetrics are the upstream engine's collectors as registered, under
// metricPrefix, with the caller's registerer.
type engineMetrics struct {
	reg prometheus.Registerer // prefixing wrapper of the caller's; nil for none
	cs  []prometheus.Collector
}

// register registers the captured collectors with reg (nothing when reg is
// nil). On the first failure it unregisters those it registered and
// returns an error naming the metric.
func (m *engineMetrics) register(reg prometheus.Registerer, captured *capture) error {
	if reg == nil {
		return nil
	}
	m.reg = prometheus.WrapRegistererWithPrefix(metricPrefix, reg)
	for i, c := range captured.cs {
		if err := m.reg.Register(c); err != nil {
			m.cs = captured.cs[:i]
			m.unregister()
			return fmt.Errorf("register metric %s%s: %w", metricPrefix, metricsreg.Name(c), err)
		}
	}
	m.cs = captured.cs
	return nil
}

// unregister removes what register registered.
func (m *engineMetrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.cs {
		m.reg.Unregister(c)
	}
	m.cs = nil
}
