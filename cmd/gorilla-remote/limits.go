package main

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/limits"
)

// registerLimits binds the per-tenant limits' defaults and the memory
// guard (docs/limits.md). 0 means unlimited for every limit.
func (f *flagSet) registerLimits(flag func(name, help string) *kingpin.FlagClause) {
	l := &f.s.Limits
	flag("limits.config-file", "YAML file of per-tenant limits over the flags' defaults (defaults: and overrides: <tenant>:), re-read on reload; a bad file keeps the limits in force (docs/limits.md).").
		StringVar(&f.s.LimitsConfigFile)
	flag("limits.max-series", "Most active series per tenant in the head; samples for new series past it are refused with 400. 0 means unlimited.").
		Default("0").IntVar(&l.MaxSeries)
	flag("limits.max-series-per-metric", "Most active series per metric name per tenant; new series past it are refused with 400. 0 means unlimited.").
		Default("0").IntVar(&l.MaxSeriesPerMetric)
	flag("limits.ingestion-rate", "Samples per second a tenant may send on average (a token bucket); over it requests are refused with 429 and Retry-After. 0 means unlimited.").
		Default("0").Float64Var(&l.IngestionRate)
	flag("limits.ingestion-burst", "Size of the ingestion token bucket in samples; at least the senders' batch size. 0 means one second of --limits.ingestion-rate.").
		Default(strconv.Itoa(limits.DefaultIngestionBurst)).IntVar(&l.IngestionBurst)
	flag("limits.max-label-names-per-series", "Most labels of one series, __name__ included (400 above it). 0 means unlimited.").
		Default(strconv.Itoa(limits.DefaultMaxLabelNamesPerSeries)).IntVar(&l.MaxLabelNamesPerSeries)
	flag("limits.max-label-name-length", "Longest label name in bytes (400 above it). 0 means unlimited.").
		Default(strconv.Itoa(limits.DefaultMaxLabelNameLength)).IntVar(&l.MaxLabelNameLength)
	flag("limits.max-label-value-length", "Longest label value in bytes (400 above it). 0 means unlimited.").
		Default(strconv.Itoa(limits.DefaultMaxLabelValueLength)).IntVar(&l.MaxLabelValueLength)
	flag("limits.max-fetched-series-per-query", "Most series one query may select, summed over its selectors, /api/v1/series included (422 execution above it). 0 means unlimited.").
		Default("0").IntVar(&l.MaxQuerySeries)
	flag("head.memory-limit", "Heap in use at which new series are refused with 503 and Retry-After (existing series and queries go on): a byte size, or a percentage of the cgroup's memory.max or else the machine's memory. 0 disables.").
		Default("80%").SetValue(&f.s.MemoryLimit)
}

// memoryLimit is the value of --head.memory-limit: a byte size, or a
// percentage of the memory available to the process.
type memoryLimit struct {
	bytes   int64
	percent float64 // > 0: a share of limits.AvailableMemory
}

// Set parses a byte size or a percentage in (0, 100].
func (m *memoryLimit) Set(s string) error {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v <= 0 || v > 100 {
			return fmt.Errorf("not a percentage in (0, 100]: %q", s)
		}
		*m = memoryLimit{percent: v}
		return nil
	}
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("must not be negative: %q", s)
	}
	*m = memoryLimit{bytes: n}
	return nil
}

func (m *memoryLimit) String() string {
	if m.percent > 0 {
		return strconv.FormatFloat(m.percent, 'g', -1, 64) + "%"
	}
	return strconv.FormatInt(m.bytes, 10)
}

// resolve returns the limit in bytes given the memory available (0 when
// unknown); 0 disables the guard.
func (m memoryLimit) resolve(available uint64) uint64 {
	if m.percent > 0 {
		return uint64(float64(available) * m.percent / 100)
	}
	return uint64(m.bytes)
}

// serverLimits are the limits of a running server.
type serverLimits struct {
	overrides *limits.Overrides
	series    *limits.SeriesTracker
}

// newLimits builds the server's limits from its settings: the overrides
// (reading --limits.config-file), and the series tracker with its memory
// guard; their metrics go to reg unless it is nil.
func newLimits(s settings, logger *slog.Logger, reg prometheus.Registerer) (*serverLimits, error) {
	ov, err := limits.NewOverrides(baseLimits(s), s.LimitsConfigFile)
	if err != nil {
		return nil, err
	}
	available := limits.AvailableMemory("/")
	memLimit := s.MemoryLimit.resolve(available)
	if s.MemoryLimit.percent > 0 && available == 0 {
		logger.Warn("memory available unknown: --head.memory-limit as a percentage is disabled; give it in bytes")
	}
	guard := limits.NewMemoryGuard(memLimit, limits.MemoryGuardOptions{})
	logger.Info("limits", "memory_limit_bytes", memLimit, "config_file", s.LimitsConfigFile)
	lim := &serverLimits{overrides: ov, series: limits.NewSeriesTracker(ov, guard)}
	if reg != nil {
		if err := reg.Register(limitsCollector{lim.series}); err != nil {
			return nil, fmt.Errorf("limits metrics: %w", err)
		}
	}
	return lim, nil
}

// baseLimits are the limits of every tenant before the config file: the
// --limits.* flags, and the server flags that are the defaults of the
// per-tenant request and query limits.
func baseLimits(s settings) limits.Limits {
	l := s.Limits
	l.MaxRequestBytes = s.MaxDecodedBytes
	l.MaxQuerySamples = s.QueryMaxSamples
	l.MaxQueryConcurrency = s.QueryConcurrency
	return l
}

// queryLimits returns the samples and concurrency limits of a tenant's
// engine: its limits, the server's flags where they are 0.
func (srv *server) queryLimits(l limits.Limits) (samples, concurrency int) {
	samples, concurrency = l.MaxQuerySamples, l.MaxQueryConcurrency
	if samples == 0 {
		samples = srv.s.QueryMaxSamples
	}
	if concurrency == 0 {
		concurrency = srv.s.QueryConcurrency
	}
	return samples, concurrency
}

// Descriptions of the limits' metrics.
var (
	activeSeriesDesc = prometheus.NewDesc("gorilla_limits_active_series",
		"Active series in the head, by tenant, as the series limits count them.", []string{"tenant"}, nil)
	memoryLimitDesc = prometheus.NewDesc("gorilla_limits_memory_limit_bytes",
		"Heap in use at which new series are refused (--head.memory-limit); 0 when the guard is off.", nil, nil)
	heapInUseDesc = prometheus.NewDesc("gorilla_limits_heap_in_use_bytes",
		"Heap in use as the memory guard last read it.", nil, nil)
)

// limitsCollector exports the state of the series limits and the memory
// guard, read at each scrape.
type limitsCollector struct{ series *limits.SeriesTracker }

// Describe implements prometheus.Collector.
func (c limitsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeSeriesDesc
	ch <- memoryLimitDesc
	ch <- heapInUseDesc
}

// Collect implements prometheus.Collector.
func (c limitsCollector) Collect(ch chan<- prometheus.Metric) {
	for tenant, n := range c.series.ActiveSeries() {
		ch <- prometheus.MustNewConstMetric(activeSeriesDesc, prometheus.GaugeValue, float64(n), tenant)
	}
	g := c.series.Guard()
	if g == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(memoryLimitDesc, prometheus.GaugeValue, float64(g.Limit()))
	ch <- prometheus.MustNewConstMetric(heapInUseDesc, prometheus.GaugeValue, float64(g.InUse()))
}

// reloadLimits re-reads --limits.config-file. On an error the limits in
// force stay and the error says why; before the storage is open it does
// nothing.
func (srv *server) reloadLimits() error {
	lim := srv.limits.Load()
	if lim == nil {
		return nil
	}
	if err := lim.overrides.Reload(); err != nil {
		return err
	}
	srv.log.Info("limits reloaded", "config_file", lim.overrides.Path(), "tenants_with_overrides", len(lim.overrides.Tenants()))
	return nil
}

// setGoMemLimit gives the Go runtime a soft memory limit a quarter above
// --head.memory-limit, unless GOMEMLIMIT is set: the collector then works
// harder as the heap nears the guard, so garbage not yet collected neither
// trips the guard early nor lets the resident set run far past it. It is
// process-wide, so only the serve command's own process calls it.
func setGoMemLimit(s settings, logger *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := s.MemoryLimit.resolve(limits.AvailableMemory("/"))
	if limit == 0 || limit > math.MaxInt64/2 {
		return
	}
	soft := int64(limit + limit/4)
	debug.SetMemoryLimit(soft)
	logger.Debug("Go soft memory limit set from --head.memory-limit", "bytes", soft)
}
