package block

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
)

// storeMetrics are the Store's metrics.
type storeMetrics struct {
	reg                                                  prometheus.Registerer
	cs                                                   []prometheus.Collector
	hits, misses, evictions, syncFailures, downloadBytes prometheus.Counter
	cachedBytes, known                                   prometheus.Gauge
}

// newStoreMetrics creates the store's metrics and registers them with reg
// if it is not nil. On error nothing stays registered.
func newStoreMetrics(reg prometheus.Registerer) (*storeMetrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "gorilla_block_" + name, Help: help})
	}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "gorilla_block_" + name, Help: help})
	}
	m := &storeMetrics{
		reg:           reg,
		hits:          c("cache_hits_total", "Block opens served from the local cache."),
		misses:        c("cache_misses_total", "Block opens that downloaded the block."),
		evictions:     c("cache_evictions_total", "Blocks evicted from the local cache."),
		syncFailures:  c("sync_failures_total", "Failed listings of the bucket."),
		downloadBytes: c("download_bytes_total", "Bytes downloaded from the bucket into the cache."),
		cachedBytes:   g("cached_bytes", "Bytes of the blocks in the local cache."),
		known:         g("known_blocks", "Complete blocks known in the bucket."),
	}
	m.cs = []prometheus.Collector{m.hits, m.misses, m.evictions, m.syncFailures, m.downloadBytes, m.cachedBytes, m.known}
	if err := metricsreg.Register(reg, m.cs); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *storeMetrics) unregister() { metricsreg.Unregister(m.reg, m.cs) }
