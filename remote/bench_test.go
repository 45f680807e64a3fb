package remote

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

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
