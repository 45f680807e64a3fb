package main

import (
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/limits"
)

// seriesWrite is a remote-write request of one sample at ts for each
// series ql_metric{i=<i>}.
func seriesWrite(t *testing.T, ts int64, is ...string) []byte {
	t.Helper()
	var wr prompb.WriteRequest
	for _, i := range is {
		wr.Timeseries = append(wr.Timeseries, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: "ql_metric"}, {Name: "i", Value: i}},
			Samples: []prompb.Sample{{Timestamp: ts, Value: 1}},
		})
	}
	raw, err := wr.Marshal()
	require.NoError(t, err)
	return raw
}

// TestQueryLimitsPerTenant: tenant small's overrides lower its request
// size, query samples, query series and query concurrency below those the
// flags give tenant big.
func TestQueryLimitsPerTenant(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := tenancySettings(t)
	now := time.Now().UnixMilli()
	one := seriesWrite(t, now, "1")
	s.LimitsConfigFile = filepath.Join(t.TempDir(), "limits.yml")
	require.NoError(t, os.WriteFile(s.LimitsConfigFile, []byte(`
overrides:
  small:
    max_request_bytes: `+strconv.Itoa(len(one))+`
    max_query_samples: 1
    max_fetched_series_per_query: 1
    max_query_concurrency: 1
`), 0o600))
	d := startTenancyServer(t, s)
	defer func() { require.NoError(t, d.stop()) }()

	for _, id := range []string{"big", "small"} {
		for _, raw := range [][]byte{seriesWrite(t, now, "1"), seriesWrite(t, now, "2")} {
			a := tenantRequest(t, d, id, http.MethodPost, "/api/v1/write", nil, raw)
			require.Equal(t, http.StatusNoContent, a.code, "%s: %s", id, a.body)
		}
	}
	a := tenantRequest(t, d, "big", http.MethodPost, "/api/v1/write", nil, seriesWrite(t, now, "3", "4"))
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	a = tenantRequest(t, d, "small", http.MethodPost, "/api/v1/write", nil, seriesWrite(t, now, "3", "4"))
	require.Equal(t, http.StatusRequestEntityTooLarge, a.code, a.body)
	require.Contains(t, a.body, "(max_request_bytes)")

	at := strconv.FormatFloat(float64(now)/1000, 'f', 3, 64)
	from := strconv.FormatFloat(float64(now)/1000-600, 'f', 3, 64)
	later := strconv.FormatFloat(float64(now)/1000+240, 'f', 3, 64) // five steps see the sample
	for _, c := range []struct {
		path, want string
		form       url.Values
	}{
		{"/api/v1/query", "the limit per query (max_fetched_series_per_query)", url.Values{"query": {`ql_metric{i=~"1|2"}`}, "time": {at}}},
		{"/api/v1/series", "the limit per query (max_fetched_series_per_query)", url.Values{"match[]": {`ql_metric{i=~"1|2"}`}, "start": {from}, "end": {at}}},
		{"/api/v1/query_range", "max_query_samples", url.Values{"query": {`ql_metric{i="1"}`}, "start": {at}, "end": {later}, "step": {"60"}}},
	} {
		a := tenantRequest(t, d, "big", http.MethodGet, c.path, c.form, nil)
		require.Equal(t, http.StatusOK, a.code, "big %s: %s", c.path, a.body)
		a = tenantRequest(t, d, "small", http.MethodGet, c.path, c.form, nil)
		require.Equal(t, http.StatusUnprocessableEntity, a.code, "small %s: %s", c.path, a.body)
		require.Contains(t, a.body, `"errorType":"execution"`, c.path)
		require.Contains(t, a.body, c.want, c.path)
	}

	metrics := get(t, d, "/metrics").body
	require.Contains(t, metrics, `gorilla_prometheus_engine_queries_concurrent_max{tenant="small"} 1`)
	require.Contains(t, metrics, `gorilla_prometheus_engine_queries_concurrent_max{tenant="big"} 20`)
}

// TestQueryLimitsFlags: the server flags of the request size, query
// samples and concurrency are the defaults of the per-tenant limits, and
// --limits.max-fetched-series-per-query that of the series limit.
func TestQueryLimitsFlags(t *testing.T) {
	s, err := parseSettings(t, "", "--remote-write.max-decoded-bytes=1KiB", "--query.max-samples=5",
		"--query.max-concurrency=3", "--limits.max-fetched-series-per-query=9")
	require.NoError(t, err)
	lim, err := newLimits(s, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	got := lim.overrides.For(limits.Anonymous)
	require.Equal(t, 1024, got.MaxRequestBytes)
	require.Equal(t, 5, got.MaxQuerySamples)
	require.Equal(t, 3, got.MaxQueryConcurrency)
	require.Equal(t, 9, got.MaxQuerySeries)

	srv := newServer(s, slog.New(slog.DiscardHandler), nil)
	samples, concurrency := srv.queryLimits(limits.Limits{})
	require.Equal(t, []int{5, 3}, []int{samples, concurrency}, "0 in the file means the flag's value")

	_, err = parseSettingsErr(t, "", "--limits.max-fetched-series-per-query=-1")
	require.ErrorContains(t, err, "--limits.max-fetched-series-per-query=-1: must be a finite number, not negative")
}
