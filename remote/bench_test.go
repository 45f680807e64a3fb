package remote

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// benchStore finds each series with one hash-map lookup, as a store does,
// and keeps nothing else.
type benchStore struct {
	mu     sync.RWMutex
	series map[uint64]model.SeriesRef
}

func (s *benchStore) Appender() Appender { return &benchAppender{s: s} }

type benchAppender struct {
	s *benchStore
	n int
}

func (a *benchAppender) Append(ref model.SeriesRef, lset labels.Labels, _ int64, _ float64) (model.SeriesRef, error) {
	a.n++
	if ref != 0 {
		return ref, nil
	}
	h := lset.Hash()
	a.s.mu.RLock()
	ref, ok := a.s.series[h]
	a.s.mu.RUnlock()
	if ok {
		return ref, nil
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	ref = model.SeriesRef(len(a.s.series) + 1)
	a.s.series[h] = ref
	return ref, nil
}

func (a *benchAppender) AppendHistogram(ref model.SeriesRef, lset labels.Labels, t int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (model.SeriesRef, error) {
	return a.Append(ref, lset, t, 0)
}

func (a *benchAppender) AppendExemplar(ref model.SeriesRef, _ labels.Labels, _ model.Exemplar) (model.SeriesRef, error) {
	return ref, nil
}
func (a *benchAppender) UpdateMetadata(string, model.Metadata) error { return nil }
func (a *benchAppender) Commit() error                               { return nil }
func (a *benchAppender) Rollback() error                             { return nil }

// benchRequest is a request like Prometheus sends: 2,000 series with one
// sample each and the labels of a typical scrape target.
func benchRequest(b *testing.B, ts int64) []byte {
	req := &prompb.WriteRequest{}
	for i := 0; i < 2000; i++ {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels: lbls("__name__", fmt.Sprintf("http_requests_%d_total", i%50),
				"code", "200", "handler", fmt.Sprintf("/api/v1/h%d", i/50), "instance", "10.0.0.1:9090",
				"job", "prometheus", "method", "get", "pod", "prometheus-0"),
			Samples: []prompb.Sample{{Timestamp: ts, Value: float64(i)}},
		})
	}
	return encodeRW1(b, req)
}

func BenchmarkWriteHandler(b *testing.B) {
	s := &benchStore{series: map[uint64]model.SeriesRef{}}
	h := newHandler(b, s, WriteOptions{})
	body := benchRequest(b, time.Now().UnixMilli())
	// Create the series first: the benchmark measures existing series.
	if w := post(h, body); w.Code != http.StatusNoContent {
		b.Fatal(w.Body.String())
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &codeWriter{hdr: http.Header{}}
		rd := bytes.NewReader(body)
		r := httptest.NewRequest(http.MethodPost, "/api/v1/write", rd)
		r.Header.Set("Content-Encoding", "snappy")
		r.Header.Set("Content-Type", "application/x-protobuf")
		for pb.Next() {
			rd.Reset(body)
			r.ContentLength = int64(len(body))
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != http.StatusNoContent {
				b.Fatal(w.code)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)*2000/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(allocsPerSample(h, body), "allocs/sample")
}

// allocsPerSample measures the allocations of one request per sample.
func allocsPerSample(h http.Handler, body []byte) float64 {
	rd := bytes.NewReader(body)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", rd)
	r.Header.Set("Content-Encoding", "snappy")
	w := &codeWriter{hdr: http.Header{}}
	n := testing.AllocsPerRun(20, func() {
		rd.Reset(body)
		h.ServeHTTP(w, r)
	})
	return n / 2000
}

// codeWriter is a reusable ResponseWriter that keeps only the status code.
type codeWriter struct {
	hdr  http.Header
	code int
}

func (w *codeWriter) Header() http.Header         { return w.hdr }
func (w *codeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *codeWriter) WriteHeader(code int)        { w.code = code }

// steadyLabels returns the labels of series i of the steady-state
// benchmark: ten labels, as a node exporter target has.
func steadyLabels(i int) []string {
	return []string{
		"__name__", fmt.Sprintf("node_metric_%d_total", i%50),
		"cluster", "eu-west-1",
		"env", "production",
		"instance", fmt.Sprintf("10.0.%d.%d:9100", i/250%250, i%250),
		"job", "node",
		"mode", []string{"idle", "user", "system", "iowait"}[i%4],
		"namespace", "monitoring",
		"pod", fmt.Sprintf("node-exporter-%05d", i/200),
		"region", "eu",
		"service", "node-exporter",
	}
}

// steadyBody encodes the request of series [from, from+n) with one sample
// each at ts, in the protocol version v2 or 1.0.
func steadyBody(b *testing.B, from, n int, ts int64, v2 bool) []byte {
	if !v2 {
		req := &prompb.WriteRequest{}
		for i := from; i < from+n; i++ {
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
				Labels:  lbls(steadyLabels(i)...),
				Samples: []prompb.Sample{{Timestamp: ts, Value: float64(i) + float64(ts)/1000}},
			})
		}
		return encodeRW1(b, req)
	}
	req := &writev2.Request{Symbols: []string{""}}
	ids := map[string]uint32{"": 0}
	ref := func(s string) uint32 {
		id, ok := ids[s]
		if !ok {
			id = uint32(len(req.Symbols))
			ids[s] = id
			req.Symbols = append(req.Symbols, s)
		}
		return id
	}
	for i := from; i < from+n; i++ {
		ts2 := writev2.TimeSeries{Samples: []writev2.Sample{{Timestamp: ts, Value: float64(i) + float64(ts)/1000}}}
		for _, s := range steadyLabels(i) {
			ts2.LabelsRefs = append(ts2.LabelsRefs, ref(s))
		}
		ts2.Metadata = writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: ref("A counter.")}
		req.Timeseries = append(req.Timeseries, ts2)
	}
	return encodeRW2(b, req)
}

// BenchmarkWriteSteady posts requests of 2,000 samples over series that
// exist already to the write handler over a real head, as the steady phase
// of the peer harness does: 20,000 or 200,000 series, each request one
// sample for 2,000 of them, a new timestamp every round. It reports samples
// per second, CPU time and allocations per sample; parallel runs four
// senders at once.
func BenchmarkWriteSteady(b *testing.B) {
	for _, series := range []int{20_000, 200_000} {
		for _, c := range []struct {
			v2, parallel bool
		}{{false, false}, {true, false}, {false, true}, {true, true}} {
			version := "1.0"
			if c.v2 {
				version = "2.0"
			}
			name := fmt.Sprintf("series=%dk/rw=%s/parallel=%v", series/1000, version, c.parallel)
			b.Run(name, func(b *testing.B) { benchWriteSteady(b, series, c.v2, c.parallel) })
		}
	}
}

func benchWriteSteady(b *testing.B, series int, v2, parallel bool) {
	const perReq = 2000
	reqs := series / perReq
	rounds := max(2, 80/reqs)
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Stripes: head.DefaultStripes})
	require.NoError(b, err)
	defer h.Close()
	wh := newHandler(b, headStore{h}, WriteOptions{})
	hdr := []string{"Content-Type", "application/x-protobuf"}
	if v2 {
		hdr = v2Header
	}
	ts := time.Now().Add(-time.Hour).UnixMilli()
	// bodies[k] is the k-th request of the next rounds, in send order.
	var bodies [][]byte
	var refillCPU time.Duration // not the handler's: subtracted
	refill := func() {
		start := processCPU()
		defer func() { refillCPU += processCPU() - start }()
		bodies = bodies[:0]
		for range rounds {
			ts += 1000 // an hour of rounds before the future-skew limit
			for r := range reqs {
				bodies = append(bodies, steadyBody(b, r*perReq, perReq, ts, v2))
			}
		}
	}
	refill()
	for _, body := range bodies[:reqs] { // create the series
		if w := post(wh, body, hdr...); w.Code != http.StatusNoContent {
			b.Fatal(w.Body.String())
		}
	}
	var next atomic.Int64
	next.Store(int64(reqs))
	var mu sync.Mutex // held by the refill, taken for reading by senders
	send := func(w *codeWriter, rd *bytes.Reader, r *http.Request) {
		for {
			k := int(next.Add(1) - 1)
			if k < len(bodies) {
				rd.Reset(bodies[k])
				r.ContentLength = int64(len(bodies[k]))
				break
			}
			mu.Lock()
			if int(next.Load()) >= len(bodies) {
				b.StopTimer()
				refill()
				next.Store(0)
				b.StartTimer()
			}
			mu.Unlock()
		}
		w.code = 0
		wh.ServeHTTP(w, r)
		if w.code != http.StatusNoContent {
			b.Errorf("status %d", w.code)
		}
	}
	newReq := func() (*codeWriter, *bytes.Reader, *http.Request) {
		rd := bytes.NewReader(nil)
		r := httptest.NewRequest(http.MethodPost, "/api/v1/write", rd)
		r.Header.Set("Content-Encoding", "snappy")
		r.Header.Set(hdr[0], hdr[1])
		return &codeWriter{hdr: http.Header{}}, rd, r
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	refillCPU = 0
	b.ResetTimer()
	if parallel {
		b.SetParallelism(2) // with GOMAXPROCS 2: four senders
		b.RunParallel(func(pb *testing.PB) {
			w, rd, r := newReq()
			for pb.Next() {
				send(w, rd, r)
			}
		})
	} else {
		w, rd, r := newReq()
		for b.Loop() {
			send(w, rd, r)
		}
	}
	b.StopTimer()
	n := float64(b.N * perReq)
	b.ReportMetric(n/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/sample")
	// The process's CPU time without the refills is steadier than the
	// elapsed time on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0-refillCPU)/n, "cpu-ns/sample")
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
