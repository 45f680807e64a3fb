package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/remote"
)

// BenchmarkWriteHandlerHead measures the remote-write handler in front of
// the real head and WAL: pre-encoded requests of 2,000 samples (one per
// existing series, ten labels each), one sender per GOMAXPROCS, each sender
// owning its series and sending its requests in time order, as Prometheus
// shards do. Run it with -benchtime=400x (at most; -cpu 1,2): each sender
// has 400 requests, 100 minutes of 15s samples, and a repeat of the first
// ones would fall out of the out-of-order window.
func BenchmarkWriteHandlerHead(b *testing.B) {
	const perReq, reqs = 2000, 400
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1})
	require.NoError(b, err)
	defer h.Close()
	now := time.UnixMilli(1_800_000_000_000)
	handler, err := remote.NewWriteHandler(headAppendable{h}, remote.WriteOptions{Now: func() time.Time { return now.Add(24 * time.Hour) }})
	require.NoError(b, err)

	var shards [][][]byte
	// RunParallel runs GOMAXPROCS senders.
	for s := range runtime.GOMAXPROCS(0) {
		bodies := make([][]byte, reqs)
		for i := range bodies {
			bodies[i] = benchBody(b, s, perReq, now.UnixMilli()+int64(i)*15_000)
		}
		shards = append(shards, bodies)
		// Create the shard's series so that the benchmark measures existing ones.
		require.Equal(b, http.StatusNoContent, serve(handler, benchBody(b, s, perReq, now.UnixMilli()-15_000)))
	}
	var next atomic.Int32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		bodies := shards[int(next.Add(1)-1)%len(shards)]
		for i := 0; pb.Next(); i++ {
			if code := serve(handler, bodies[i%len(bodies)]); code != http.StatusNoContent {
				b.Errorf("status %d", code)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)*perReq/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perReq), "ns/sample")
}

func serve(h http.Handler, body []byte) int {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	r.Header.Set("Content-Encoding", "snappy")
	r.Header.Set("Content-Type", "application/x-protobuf")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// benchBody encodes one request: n series of shard s, one sample each at t.
func benchBody(b *testing.B, shard, n int, t int64) []byte {
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, n)}
	for i := range req.Timeseries {
		req.Timeseries[i] = prompb.TimeSeries{
			Labels: []prompb.Label{
				{Name: "__name__", Value: fmt.Sprintf("node_metric_%d_total", i%50)},
				{Name: "cluster", Value: "eu-west-1"},
				{Name: "env", Value: "production"},
				{Name: "instance", Value: fmt.Sprintf("10.%d.%d.%d:9100", shard, i/250, i%250)},
				{Name: "job", Value: "node"},
				{Name: "mode", Value: []string{"idle", "user", "system", "iowait"}[i%4]},
				{Name: "namespace", Value: "monitoring"},
				{Name: "pod", Value: fmt.Sprintf("node-exporter-%05d", i/200)},
				{Name: "region", Value: "eu"},
				{Name: "service", Value: "node-exporter"},
			},
			Samples: []prompb.Sample{{Timestamp: t, Value: float64(t/1000) * float64(i%7)}},
		}
	}
	raw, err := req.Marshal()
	require.NoError(b, err)
	return snappy.Encode(nil, raw)
}
