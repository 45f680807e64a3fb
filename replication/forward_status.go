package replication

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
)

// Region states of RegionStatus.State.
const (
	StateOK      = "ok"      // reachable, lag under LaggingAfter
	StateLagging = "lagging" // reachable, lag over LaggingAfter
	StateDown    = "down"    // the last attempt failed and is being retried
)

// RegionStatus is what GET /api/v1/status/replication shows of one region.
// Counters count since the process started; Backlog* is what the queue
// holds now.
type RegionStatus struct {
	Name            string  `json:"name"`
	URL             string  `json:"url"`
	State           string  `json:"state"`
	LagSeconds      float64 `json:"lagSeconds"` // age of the oldest queued request
	BacklogBytes    int64   `json:"backlogBytes"`
	BacklogRequests int64   `json:"backlogRequests"`
	BacklogSamples  int64   `json:"backlogSamples"`
	Sent            int64   `json:"sent"`    // requests the region stored
	Retried         int64   `json:"retried"` // attempts that failed and were retried
	Failed          int64   `json:"failed"`  // requests the region refused (4xx), dropped
	Dropped         int64   `json:"dropped"` // requests dropped past max_lag or max_queue_bytes
	SentSamples     int64   `json:"sentSamples"`
	FailedSamples   int64   `json:"failedSamples"`
	DroppedSamples  int64   `json:"droppedSamples"`
	WrittenBytes    int64   `json:"writtenBytes"` // written to the queue's WAL
}

// Status returns the status of every region, in configuration order.
func (f *Forwarder) Status() []RegionStatus {
	out := make([]RegionStatus, 0, len(f.senders))
	for _, s := range f.senders {
		out = append(out, s.status())
	}
	return out
}

func (s *sender) status() RegionStatus {
	qs := s.q.Stats()
	st := RegionStatus{
		Name: s.opts.Name, URL: s.opts.URL,
		BacklogBytes: qs.BacklogBytes, BacklogRequests: qs.BacklogRequests, BacklogSamples: qs.BacklogSamples,
		Sent: s.sentReqs.Load(), SentSamples: s.sentSamples.Load(),
		Retried: s.retried.Load(),
		Failed:  s.failedReqs.Load(), FailedSamples: s.failedSamples.Load(),
		Dropped:        qs.DroppedRequests + s.droppedReqs.Load(),
		DroppedSamples: qs.DroppedSamples + s.droppedSamples.Load(),
		WrittenBytes:   qs.WrittenBytes,
	}
	if !qs.Oldest.IsZero() {
		st.LagSeconds = max(s.fo.Now().Sub(qs.Oldest).Seconds(), 0)
	}
	switch {
	case s.failing.Load():
		st.State = StateDown
	case st.LagSeconds > s.fo.LaggingAfter.Seconds():
		st.State = StateLagging
	default:
		st.State = StateOK
	}
	return st
}

// StatusHandler serves GET /api/v1/status/replication: the Status of every
// region in the Prometheus API envelope, {"status":"success","data":[...]}.
func (f *Forwarder) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Status string         `json:"status"`
			Data   []RegionStatus `json:"data"`
		}{"success", f.Status()}) // a client gone away is not ours to report
	})
}

// regionMetrics exports the Status of every region as the
// gorilla_replication_region_* metrics, read at each scrape.
type regionMetrics struct {
	reg   prometheus.Registerer
	f     *Forwarder
	descs map[string]*prometheus.Desc
}

// regionMetricHelp lists the metrics, by name after the prefix.
var regionMetricHelp = [...][2]string{
	{"lag_seconds", "Age of the oldest request queued for the region and not yet sent."},
	{"backlog_bytes", "Bytes of requests queued for the region."},
	{"backlog_requests", "Requests queued for the region."},
	{"backlog_samples", "Samples in the requests queued for the region."},
	{"up", "1 when the last attempt to send to the region got an answer, 0 while it is being retried."},
	{"sent_requests_total", "Requests the region stored."},
	{"sent_samples_total", "Samples in the requests the region stored."},
	{"retried_requests_total", "Attempts to send to the region that failed (5xx, 429, network) and were retried."},
	{"failed_requests_total", "Requests the region refused with a 4xx other than 429, dropped."},
	{"failed_samples_total", "Samples in the requests the region refused, dropped."},
	{"dropped_requests_total", "Requests dropped unsent, older than max_lag or over max_queue_bytes."},
	{"dropped_samples_total", "Samples in the requests dropped unsent."},
	{"queue_written_bytes_total", "Bytes written to the region's queue on disk."},
}

func newRegionMetrics(reg prometheus.Registerer, f *Forwarder) (*regionMetrics, error) {
	m := &regionMetrics{reg: reg, f: f, descs: map[string]*prometheus.Desc{}}
	for _, nh := range regionMetricHelp {
		m.descs[nh[0]] = prometheus.NewDesc("gorilla_replication_region_"+nh[0], nh[1], []string{"region"}, nil)
	}
	if err := metricsreg.Register(reg, []prometheus.Collector{m}); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *regionMetrics) unregister() { metricsreg.Unregister(m.reg, []prometheus.Collector{m}) }

// Describe implements prometheus.Collector.
func (m *regionMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *regionMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, st := range m.f.Status() {
		up := 1.0
		if st.State == StateDown {
			up = 0
		}
		gauge := func(name string, v float64) {
			ch <- prometheus.MustNewConstMetric(m.descs[name], prometheus.GaugeValue, v, st.Name)
		}
		counter := func(name string, v int64) {
			ch <- prometheus.MustNewConstMetric(m.descs[name], prometheus.CounterValue, float64(v), st.Name)
		}
		gauge("lag_seconds", st.LagSeconds)
		gauge("backlog_bytes", float64(st.BacklogBytes))
		gauge("backlog_requests", float64(st.BacklogRequests))
		gauge("backlog_samples", float64(st.BacklogSamples))
		gauge("up", up)
		counter("sent_requests_total", st.Sent)
		counter("sent_samples_total", st.SentSamples)
		counter("retried_requests_total", st.Retried)
		counter("failed_requests_total", st.Failed)
		counter("failed_samples_total", st.FailedSamples)
		counter("dropped_requests_total", st.Dropped)
		counter("dropped_samples_total", st.DroppedSamples)
		counter("queue_written_bytes_total", st.WrittenBytes)
	}
}
