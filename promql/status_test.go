package promql

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// newStatusAPI serves the API over an empty head with st as the server's
// status.
func newStatusAPI(t *testing.T, st ServerStatus) *httptest.Server {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	api, err := NewAPI(APIOptions{
		Engine: newEngine(t, EngineOptions{}), Queryable: query.New(h), Status: st,
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

func TestStatusEndpoints(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	srv := newStatusAPI(t, ServerStatus{
		Config: func() string { return "log:\n  level: info\n" },
		Flags: func() map[string]string {
			return map[string]string{"log.level": "info", "web.enable-lifecycle": "false"}
		},
		Runtime: func() RuntimeStatus {
			return RuntimeStatus{StartTime: start, ReloadConfigSuccess: true, LastConfigTime: start, StorageRetention: "26h in memory"}
		},
		WALReplay: func() WALReplayStatus { return WALReplayStatus{Min: 3, Max: 7, Current: 7} },
	})

	code, body := get(t, srv, "/api/v1/status/config", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"yaml":"log:\n  level: info\n"}}`, body)

	code, body = get(t, srv, "/api/v1/status/flags", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"log.level":"info","web.enable-lifecycle":"false"}}`, body)

	code, body = get(t, srv, "/api/v1/status/walreplay", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"min":3,"max":7,"current":7}}`, body)

	code, body = get(t, srv, "/api/v1/status/runtimeinfo", nil)
	require.Equal(t, http.StatusOK, code, body)
	var got struct {
		Status string         `json:"status"`
		Data   map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Equal(t, "success", got.Status)
	for _, k := range []string{"startTime", "CWD", "hostname", "serverTime", "reloadConfigSuccess", "lastConfigTime",
		"corruptionCount", "goroutineCount", "GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "storageRetention"} {
		require.Contains(t, got.Data, k)
	}
	require.Len(t, got.Data, 13, "Prometheus's fields and no others")
	require.Equal(t, "2026-12-01T09:00:00Z", got.Data["startTime"])
	require.Equal(t, "2026-12-01T10:00:00Z", got.Data["serverTime"])
	require.Equal(t, true, got.Data["reloadConfigSuccess"])
	require.Equal(t, "26h in memory", got.Data["storageRetention"])
	require.Equal(t, float64(runtime.GOMAXPROCS(0)), got.Data["GOMAXPROCS"])
	require.Positive(t, got.Data["goroutineCount"])
}

// TestStatusEndpointsWithoutSources: an API given no sources still
// answers each endpoint with its shape.
func TestStatusEndpointsWithoutSources(t *testing.T) {
	srv := newStatusAPI(t, ServerStatus{})
	for path, want := range map[string]string{
		"/api/v1/status/config":    `{"status":"success","data":{"yaml":""}}`,
		"/api/v1/status/flags":     `{"status":"success","data":{}}`,
		"/api/v1/status/walreplay": `{"status":"success","data":{"min":-1,"max":-1,"current":-1}}`,
	} {
		code, body := get(t, srv, path, url.Values{})
		require.Equal(t, http.StatusOK, code, path)
		require.JSONEq(t, want, body, path)
	}
	code, body := get(t, srv, "/api/v1/status/runtimeinfo", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"reloadConfigSuccess":false`)
}
