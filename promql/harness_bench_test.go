//go:build unix

package promql

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// BenchmarkHarnessQueries runs the six range queries of the peer harness
// (loadgen.ExampleQueries) through the query API, over the harness' data
// set at its small scale: 100k synthetic series, 20 rounds 15 s apart, in
// the head, queried over the whole load at a 15 s step. Each query is one
// GET of /api/v1/query_range accepting gzip, as the harness' client sends
// it, so the figure includes parsing, evaluation and the JSON answer.
// The geometric mean of the six ns/op is the harness' figure; cpu-ms/op
// is the CPU time of the whole process per query (garbage collection
// included), the cost the harness' time falls to when cores are free.
//
//	go test -run='^$' -bench=HarnessQueries -benchtime=20x ./promql/
func BenchmarkHarnessQueries(b *testing.B) {
	const series, rounds = 100_000, 20
	step := 15 * time.Second
	t0 := int64(100*24*time.Hour/time.Millisecond) + 60_000
	t1 := t0 + int64(rounds-1)*step.Milliseconds()
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Retention: 26 * time.Hour})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, h.Close()) })
	for r := range rounds {
		app := h.Appender()
		for i := range series {
			_, err := app.Append(0, loadgen.SeriesLabels(i), t0+int64(r)*step.Milliseconds(), loadgen.SeriesValue(i, r))
			require.NoError(b, err)
			if i%2000 == 1999 {
				require.NoError(b, app.Commit())
				app = h.Appender()
			}
		}
		require.NoError(b, app.Commit())
	}
	for _, shards := range []int{1, 0} {
		b.Run("shards="+strconv.Itoa(shards), func(b *testing.B) {
			benchHarnessQueries(b, h, shards, t0, t1, step)
		})
	}
}

// benchHarnessQueries runs the six queries on an engine of the given
// shards (0: the default).
func benchHarnessQueries(b *testing.B, h *head.Head, shards int, t0, t1 int64, step time.Duration) {
	api, err := NewAPI(APIOptions{Engine: newEngine(b, EngineOptions{Shards: shards}), Queryable: query.New(h)})
	require.NoError(b, err)
	var logSum float64
	for n, q := range loadgen.ExampleQueries() {
		form := url.Values{
			"query": {q}, "start": {strconv.FormatInt(t0/1000, 10)}, "end": {strconv.FormatInt(t1/1000, 10)},
			"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
		}
		b.Run("q"+strconv.Itoa(n+1), func(b *testing.B) {
			var size int
			cpu0 := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/api/v1/query_range?"+form.Encode(), nil)
				req.Header.Set("Accept-Encoding", "gzip")
				rec := httptest.NewRecorder()
				api.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					body, _ := io.ReadAll(rec.Body)
					b.Fatalf("%s: status %d: %s", q, rec.Code, body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/1e6/float64(b.N), "cpu-ms/op")
			require.NotZero(b, size, "%s answered nothing", q)
			b.ReportMetric(float64(size), "gzip-bytes/op")
			logSum += math.Log(float64(b.Elapsed().Nanoseconds()) / float64(b.N))
		})
	}
	b.Logf("shards %d: geometric mean of the six queries: %.3f ms", shards, math.Exp(logSum/6)/1e6)
}

// processCPU returns the CPU time of the process so far, user and system,
// in nanoseconds: on a busy machine, where the time a query takes says
// little, what it costs.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return ru.Utime.Nano() + ru.Stime.Nano()
}
