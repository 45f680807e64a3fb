package main

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// tenantRequest sends a request to d as tenant id ("" sends no header):
// a form for GET and POST, body for a protobuf body.
func tenantRequest(t *testing.T, d *testServer, id, method, path string, form url.Values, body []byte) answer {
	t.Helper()
	var req *http.Request
	var err error
	switch {
	case body != nil:
		req, err = http.NewRequest(method, d.url+path, bytes.NewReader(snappy.Encode(nil, body)))
		require.NoError(t, err)
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
	case method == http.MethodGet:
		req, err = http.NewRequest(method, d.url+path+"?"+form.Encode(), nil)
		require.NoError(t, err)
	default:
		req, err = http.NewRequest(method, d.url+path, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if id != "" {
		req.Header.Set(tenant.Header, id)
	}
	return do(t, d.client, req)
}

// tenantWrite is a remote-write request of one series, ten_metric, with a
// sample three hours ago (in a closed window) and one now, an exemplar
// and the metric's metadata.
func tenantWrite(t *testing.T, now int64) []byte {
	t.Helper()
	wr := prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{{
			Labels:    []prompb.Label{{Name: "__name__", Value: "ten_metric"}, {Name: "job", Value: "j"}},
			Samples:   []prompb.Sample{{Timestamp: now - 3*time.Hour.Milliseconds(), Value: 1}, {Timestamp: now, Value: 2}},
			Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "abc"}}, Value: 2, Timestamp: now}},
		}},
		Metadata: []prompb.MetricMetadata{{MetricFamilyName: "ten_metric", Type: prompb.MetricMetadata_GAUGE, Help: "a tenant's metric"}},
	}
	raw, err := wr.Marshal()
	require.NoError(t, err)
	return raw
}

// remoteReadSeries returns how many series tenant id reads back for
// ten_metric through remote read.
func remoteReadSeries(t *testing.T, d *testServer, id string, now int64) int {
	t.Helper()
	rr := prompb.ReadRequest{Queries: []*prompb.Query{{
		StartTimestampMs: now - 4*time.Hour.Milliseconds(), EndTimestampMs: now + 1,
		Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "ten_metric"}},
	}}}
	raw, err := rr.Marshal()
	require.NoError(t, err)
	a := tenantRequest(t, d, id, http.MethodPost, "/api/v1/read", nil, raw)
	require.Equal(t, http.StatusOK, a.code, a.body)
	dec, err := snappy.Decode(nil, []byte(a.body))
	require.NoError(t, err)
	var resp prompb.ReadResponse
	require.NoError(t, resp.Unmarshal(dec))
	require.Len(t, resp.Results, 1)
	return len(resp.Results[0].Timeseries)
}

// TestTenancyHeader checks the router's answers to a missing or invalid
// tenant id, on every data endpoint, and that the global endpoints need
// none.
func TestTenancyHeader(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startTenancyServer(t, tenancySettings(t))
	defer func() { require.NoError(t, d.stop()) }()
	raw := tenantWrite(t, time.Now().UnixMilli())
	require.Equal(t, http.StatusUnauthorized, tenantRequest(t, d, "", http.MethodPost, "/api/v1/write", nil, raw).code)
	require.Equal(t, http.StatusUnauthorized, tenantRequest(t, d, "", http.MethodGet, "/api/v1/labels", nil, nil).code)
	for _, id := range []string{"a/b", "..", ".", "a|b", strings.Repeat("x", 151)} {
		a := tenantRequest(t, d, id, http.MethodPost, "/api/v1/write", nil, raw)
		require.Equal(t, http.StatusBadRequest, a.code, "tenant %q: %s", id, a.body)
	}
	for _, path := range []string{"/-/healthy", "/-/ready", "/metrics"} {
		require.Equal(t, http.StatusOK, get(t, d, path).code, path)
	}
	_, err := os.Stat(filepath.Join(d.rs.srv.s.StoragePath, "tenants", ".."+"x"))
	require.ErrorIs(t, err, fs.ErrNotExist, "no directory for a refused id")
}

func tenancySettings(t *testing.T) settings {
	t.Helper()
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	s.TenancyEnabled = true
	s.EnableAdminAPI = true
	s.BlockShipInterval = 50 * time.Millisecond
	return s
}

func startTenancyServer(t *testing.T, s settings) *testServer {
	t.Helper()
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	return d
}

// TestTenantsApart writes as tenant a and reads as a and as b through
// every data path: b sees nothing of a's, before and after a restart; a's
// blocks land under a/ in the bucket; b's deletion leaves a's data, a's
// own removes it.
func TestTenantsApart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := tenancySettings(t)
	d := startTenancyServer(t, s)
	now := time.Now().UnixMilli()
	a := tenantRequest(t, d, "a", http.MethodPost, "/api/v1/write", nil, tenantWrite(t, now))
	require.Equal(t, http.StatusNoContent, a.code, a.body)

	at := strconv.FormatFloat(float64(now)/1000, 'f', 3, 64)
	from := strconv.FormatFloat(float64(now)/1000-4*3600, 'f', 3, 64)
	sel := url.Values{"match[]": {"ten_metric"}, "start": {from}, "end": {at}}
	reads := []struct {
		path string
		form url.Values
		want string // in a's answer, not in b's
	}{
		{"/api/v1/query", url.Values{"query": {"ten_metric"}, "time": {at}}, "ten_metric"},
		{"/api/v1/query_range", url.Values{"query": {"ten_metric"}, "start": {from}, "end": {at}, "step": {"60"}}, "ten_metric"},
		{"/api/v1/series", sel, "ten_metric"},
		{"/api/v1/labels", sel, `"job"`},
		{"/api/v1/label/job/values", sel, `"j"`},
		{"/api/v1/metadata", url.Values{}, "a tenant's metric"},
		{"/api/v1/query_exemplars", url.Values{"query": {"ten_metric"}, "start": {from}, "end": {at}}, "abc"},
		{"/api/v1/correlate", url.Values{"x": {"ten_metric"}, "y": {"ten_metric"}, "start": {from}, "end": {at}, "step": {"60"}}, "ten_metric"},
	}
	check := func(when string) {
		for _, r := range reads {
			got := tenantRequest(t, d, "a", http.MethodGet, r.path, r.form, nil)
			require.Equal(t, http.StatusOK, got.code, "%s %s: %s", when, r.path, got.body)
			require.Contains(t, got.body, r.want, "%s: a sees its data through %s", when, r.path)
			got = tenantRequest(t, d, "b", http.MethodGet, r.path, r.form, nil)
			require.Equal(t, http.StatusOK, got.code, "%s %s: %s", when, r.path, got.body)
			require.NotContains(t, got.body, r.want, "%s: b sees a's data through %s", when, r.path)
		}
		require.Equal(t, 1, remoteReadSeries(t, d, "a", now), when)
		require.Equal(t, 0, remoteReadSeries(t, d, "b", now), when)
		var st struct {
			HeadStats struct{ NumSeries int } `json:"headStats"`
		}
		statusData(t, tenantRequest(t, d, "a", http.MethodGet, "/api/v1/status/tsdb", nil, nil), &st)
		require.Equal(t, 1, st.HeadStats.NumSeries, when)
		statusData(t, tenantRequest(t, d, "b", http.MethodGet, "/api/v1/status/tsdb", nil, nil), &st)
		require.Equal(t, 0, st.HeadStats.NumSeries, when)
	}
	check("running")

	// The window three hours back is closed: the shipper seals it into a
	// block of a's, under a/ in the bucket.
	bucket := filepath.Join(s.StoragePath, "bucket")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		metas, _ := filepath.Glob(filepath.Join(bucket, "a", "*", "meta.json"))
		if len(metas) > 0 {
			break
		}
		require.False(t, time.Now().After(deadline), "no block of a's under a/ in the bucket")
	}
	ents, err := os.ReadDir(bucket)
	require.NoError(t, err)
	for _, e := range ents {
		require.Contains(t, []string{"a", "b"}, e.Name(), "the bucket's root holds tenants only")
	}
	require.NoError(t, d.stop())

	d = startTenancyServer(t, s)
	for _, id := range []string{"a", "b"} {
		_, err := os.Stat(filepath.Join(s.StoragePath, "tenants", id, "wal"))
		require.NoError(t, err, "tenant %s has its own WAL", id)
	}
	check("restarted")

	del := url.Values{"match[]": {"ten_metric"}}
	require.Equal(t, http.StatusNoContent, tenantRequest(t, d, "b", http.MethodPost, "/api/v1/admin/tsdb/delete_series", del, nil).code)
	require.Equal(t, 1, remoteReadSeries(t, d, "a", now), "b's deletion leaves a's series")
	require.Equal(t, http.StatusNoContent, tenantRequest(t, d, "a", http.MethodPost, "/api/v1/admin/tsdb/delete_series", del, nil).code)
	require.Equal(t, 0, remoteReadSeries(t, d, "a", now), "a's deletion removes a's series")
	require.NoError(t, d.stop())
}

// TestTenancyOffIgnoresHeader checks that without --tenancy.enabled the
// header is ignored, even an invalid one, and the layout is the one
// tenant's: no tenants directory, no prefix in the bucket.
func TestTenancyOffIgnoresHeader(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := tenancySettings(t)
	s.TenancyEnabled = false
	d := startTenancyServer(t, s)
	now := time.Now().UnixMilli()
	require.Equal(t, http.StatusNoContent, tenantRequest(t, d, "a/b", http.MethodPost, "/api/v1/write", nil, tenantWrite(t, now)).code)
	require.Equal(t, 1, remoteReadSeries(t, d, "", now))
	require.Equal(t, 1, remoteReadSeries(t, d, "b", now), "the header is ignored")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		metas, _ := filepath.Glob(filepath.Join(s.StoragePath, "bucket", "*", "meta.json"))
		if len(metas) > 0 {
			break
		}
		require.False(t, time.Now().After(deadline), "no block at the bucket's root")
	}
	require.NoError(t, d.stop())
	_, err := os.Stat(filepath.Join(s.StoragePath, "tenants"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(filepath.Join(s.StoragePath, "wal"))
	require.NoError(t, err, "the WAL is where it always was")
}

// TestTenantWALUnavailable fills the disk under one tenant's WAL: its
// writes get 503, /-/ready answers 503 naming it, and the tenant's WAL
// metrics carry its label; once space is back it is ready again.
func TestTenantWALUnavailable(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var disk fullDisk
	srv := newServer(tenancySettings(t), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	srv.walCreate = disk.create
	d, err := startTestServer(srv)
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()
	now := time.Now().UnixMilli()
	require.Equal(t, http.StatusNoContent, tenantRequest(t, d, "a", http.MethodPost, "/api/v1/write", nil, tenantWrite(t, now)).code)

	disk.full.Store(true)
	a := tenantRequest(t, d, "a", http.MethodPost, "/api/v1/write", nil, tenantWrite(t, now+1000))
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	ready := get(t, d, "/-/ready")
	require.Equal(t, http.StatusServiceUnavailable, ready.code)
	require.Contains(t, ready.body, "tenant a")
	require.Contains(t, get(t, d, "/metrics").body, "\ngorilla_wal_unavailable{tenant=\"a\"} 1\n")

	disk.full.Store(false)
	for deadline := time.Now().Add(time.Minute); get(t, d, "/-/ready").code != http.StatusOK; time.Sleep(10 * time.Millisecond) {
		require.False(t, time.Now().After(deadline), "the server never became ready again")
	}
	d.client.CloseIdleConnections()
}

// TestTenantsOpenedConcurrently sends the first writes of several tenants
// at once, twice each: every write is stored once in its own tenant's
// storage, and each tenant reads back only its own series.
func TestTenantsOpenedConcurrently(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startTenancyServer(t, tenancySettings(t))
	defer func() { require.NoError(t, d.stop()) }()
	now := time.Now().UnixMilli()
	wr := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "ten_metric"}},
		Samples: []prompb.Sample{{Timestamp: now, Value: 1}},
	}}}
	raw, err := wr.Marshal()
	require.NoError(t, err)
	ids := []string{"t1", "t2", "t3", "t4"}
	codes := make(chan int, 2*len(ids))
	var wg sync.WaitGroup
	for _, id := range append(slices.Clone(ids), ids...) {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, d.url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
			if err != nil {
				codes <- 0
				return
			}
			req.Header.Set("Content-Encoding", "snappy")
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set(tenant.Header, id)
			resp, err := d.client.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		require.Equal(t, http.StatusNoContent, c)
	}
	for _, id := range ids {
		require.Equal(t, 1, remoteReadSeries(t, d, id, now), id)
	}
	require.Equal(t, 0, remoteReadSeries(t, d, "t5", now))
	d.client.CloseIdleConnections()
}

// TestTenancySetting: tenancy is off by default, and on from the flag or
// the config key tenancy.enabled.
func TestTenancySetting(t *testing.T) {
	s, err := parseSettings(t, "")
	require.NoError(t, err)
	require.False(t, s.TenancyEnabled)
	s, err = parseSettings(t, "", "--tenancy.enabled")
	require.NoError(t, err)
	require.True(t, s.TenancyEnabled)
	s, err = parseSettings(t, "tenancy:\n  enabled: true\n")
	require.NoError(t, err)
	require.True(t, s.TenancyEnabled)
}
