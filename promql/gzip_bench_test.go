package promql

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// BenchmarkRangeAnswerGzip answers a range query over 100 series, plain
// and gzip-compressed, and reports the bytes sent per answer.
func BenchmarkRangeAnswerGzip(b *testing.B) {
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	app := h.Appender()
	for s := range 100 {
		lset := labels.FromStrings("__name__", "bench_gauge", "instance", "host-"+strconv.Itoa(s))
		for i := int64(0); i < 240; i++ {
			if _, err := app.Append(0, lset, i*15000, float64(i%17)+float64(s)/7); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	api, err := NewAPI(APIOptions{Engine: newEngine(b, EngineOptions{}), Queryable: query.New(h), Now: func() time.Time { return time.Unix(3600, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	path := srv.URL + "/api/v1/query_range?" + url.Values{"query": {"bench_gauge"}, "start": {"0"}, "end": {"3600"}, "step": {"15"}}.Encode()
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			defer c.CloseIdleConnections()
			var sent int64
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Accept-Encoding", enc)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent = n
			}
			b.ReportMetric(float64(sent), "bytes/answer")
		})
	}
}
