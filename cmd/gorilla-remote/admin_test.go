package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func postForm(t *testing.T, d *testServer, path string, params url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url+path, strings.NewReader(params.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, d.client, req)
}

// TestAdminAPIFlag runs the server with the admin API off, then on over
// the same storage: off, the endpoints answer as Prometheus's; on, a
// deletion hides the sample at once and after a restart, and a snapshot
// answers a name whose directory exists.
func TestAdminAPIFlag(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	start := func() *testServer {
		d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
		require.NoError(t, err)
		return d
	}
	now := time.Now().UnixMilli()
	at := strconv.FormatFloat(float64(now)/1000, 'f', 3, 64)
	count := func(d *testServer) string {
		a := postForm(t, d, "/api/v1/query", url.Values{"query": {"count(disk_test)"}, "time": {at}})
		require.Equal(t, http.StatusOK, a.code, a.body)
		return a.body
	}

	d := start()
	require.Equal(t, http.StatusNoContent, writeSample(t, d, now).code)
	a := postForm(t, d, "/api/v1/admin/tsdb/delete_series", url.Values{"match[]": {"disk_test"}})
	require.Equal(t, http.StatusServiceUnavailable, a.code)
	require.JSONEq(t, `{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}`, a.body)
	require.Contains(t, count(d), `"value":[`, "the sample is there")
	d.client.CloseIdleConnections()
	require.NoError(t, d.stop())

	s.EnableAdminAPI = true
	d = start()
	a = postForm(t, d, "/api/v1/admin/tsdb/delete_series", url.Values{"match[]": {"disk_test"}})
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	require.Contains(t, count(d), `"result":[]`, "deleted at once")
	a = postForm(t, d, "/api/v1/admin/tsdb/snapshot", nil)
	require.Equal(t, http.StatusOK, a.code, a.body)
	var snap struct {
		Data struct{ Name string } `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &snap))
	_, err = os.Stat(filepath.Join(s.StoragePath, "snapshots", snap.Data.Name, "wal"))
	require.NoError(t, err, "the snapshot holds the WAL")
	d.client.CloseIdleConnections()
	require.NoError(t, d.stop())

	d = start()
	require.Contains(t, count(d), `"result":[]`, "still deleted after a restart")
	d.client.CloseIdleConnections()
	require.NoError(t, d.stop())
}
