package head

import (
	"errors"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// Stats summarises what the head holds.
type Stats struct {
	Series     int
	Samples    int
	Chunks     int
	ChunkBytes int
	// BytesPerSample is ChunkBytes / Samples: the compression the Gorilla
	// encoding achieves (16 bytes per sample uncompressed).
	BytesPerSample float64
	MinTime        int64 // oldest sample in memory; math.MaxInt64 when empty
	MaxTime        int64 // newest sample; math.MinInt64 when empty
}

// Stats walks every series and returns the head's totals. It costs about
// one lock acquisition per series.
func (h *Head) Stats() Stats {
	var st Stats
	agg := SeriesInfo{MinTime: math.MaxInt64, MaxTime: math.MinInt64}
	h.series.forEach(func(s *memSeries) {
		st.Series++
		s.mu.Lock()
		info := SeriesInfo{}
		s.addTo(&info)
		s.mu.Unlock()
		agg.Samples += info.Samples
		agg.Chunks += info.Chunks
		agg.ChunkBytes += info.ChunkBytes
		if info.Samples > 0 {
			agg.MinTime = min(agg.MinTime, info.MinTime)
			agg.MaxTime = max(agg.MaxTime, info.MaxTime)
		}
	})
	st.Samples, st.Chunks, st.ChunkBytes = agg.Samples, agg.Chunks, agg.ChunkBytes
	st.MinTime, st.MaxTime = agg.MinTime, agg.MaxTime
	if st.Samples > 0 {
		st.BytesPerSample = float64(st.ChunkBytes) / float64(st.Samples)
	}
	return st
}

// metrics are the head's self-metrics.
type metrics struct {
	reg             prometheus.Registerer
	cs              []prometheus.Collector
	series          prometheus.Gauge
	seriesRemoved   prometheus.Counter
	samplesAppended prometheus.Counter
	rejectedBy      *prometheus.CounterVec
	checkpoints     prometheus.Counter
	fsync           prometheus.Histogram
	oooReencoded    prometheus.Counter
}

// newMetrics creates the head's metrics and registers them with reg if it
// is not nil. On error nothing stays registered.
func newMetrics(h *Head, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reg: reg,
		series: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gorilla_head_series", Help: "Series held in memory."}),
		seriesRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_head_series_removed_total", Help: "Series dropped by retention."}),
		samplesAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_head_samples_appended_total", Help: "Samples committed to the head."}),
		rejectedBy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gorilla_head_samples_rejected_total", Help: "Samples the head refused, by reason."}, []string{"reason"}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_head_checkpoints_total", Help: "WAL checkpoints written."}),
		oooReencoded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gorilla_head_ooo_reencoded_samples_total",
			Help: "Samples re-encoded to merge out-of-order samples into chunks."}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gorilla_wal_fsync_duration_seconds", Help: "Duration of WAL fsyncs.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}),
	}
	m.cs = []prometheus.Collector{m.series, m.seriesRemoved, m.samplesAppended, m.rejectedBy, m.checkpoints, m.fsync, m.oooReencoded,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gorilla_head_max_time_seconds", Help: "Newest sample timestamp in the head."},
			func() float64 { return float64(h.maxTime.Load()) / 1000 }),
	}
	if err := metricsreg.Register(reg, m.cs); err != nil {
		return nil, err
	}
	return m, nil
}

// registerWAL adds the metrics of the WAL's health, once it is open. On
// error those are not registered; the caller unregisters the others.
func (m *metrics) registerWAL(w *wal.WAL) error {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gorilla_wal_unavailable",
			Help: "1 while the WAL cannot write (a full disk, a failed fsync) and commits are refused, else 0.",
		}, func() float64 {
			if errors.Is(w.Err(), wal.ErrUnavailable) {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gorilla_wal_failures_total", Help: "Times the WAL became unavailable after a failed write or fsync.",
		}, func() float64 { return float64(w.Stats().Failures) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gorilla_wal_recoveries_total", Help: "Times the WAL wrote again after being unavailable.",
		}, func() float64 { return float64(w.Stats().Recoveries) }),
	}
	if err := metricsreg.Register(m.reg, cs); err != nil {
		return err
	}
	m.cs = append(m.cs, cs...)
	return nil
}

// unregister removes every metric registered so far; Close and a failed
// Open call it, so the same registry can take a new head.
func (m *metrics) unregister() { metricsreg.Unregister(m.reg, m.cs) }

func (m *metrics) observeFsync(d time.Duration) { m.fsync.Observe(d.Seconds()) }

// oooStored counts what storing a batch's out-of-order samples refused and
// re-encoded (the samples stored are counted by the caller).
func (m *metrics) oooStored(r oooResult) {
	if r.duplicates > 0 {
		m.rejectedN(model.ErrDuplicateSample, r.duplicates)
	}
	m.oooReencoded.Add(float64(r.reencoded))
}

// rejected counts a refused sample under its reason.
func (m *metrics) rejected(err error) { m.rejectedN(err, 1) }

func (m *metrics) rejectedN(err error, n int) {
	reason := "other"
	switch {
	case errors.Is(err, model.ErrOutOfWindow):
		reason = "out_of_window"
	case errors.Is(err, model.ErrDuplicateSample):
		reason = "duplicate"
	case errors.Is(err, model.ErrTimestampOutOfRange):
		reason = "timestamp_out_of_range"
	case errors.Is(err, model.ErrSeriesLimit):
		reason = "series_limit"
	case errors.Is(err, model.ErrMemoryLimit):
		reason = "memory_limit"
	}
	m.rejectedBy.WithLabelValues(reason).Add(float64(n))
}
