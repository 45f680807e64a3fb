package promql

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// newAdminAPI serves the API over a head holding one counter sampled every
// 15s over ten minutes, with the admin API on when enable is set; it
// returns the server and the storage directory.
func newAdminAPI(t *testing.T, enable bool) (*httptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	h, err := head.Open(head.Options{Dir: dir, MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	for _, inst := range []string{"a", "b"} {
		lset := labels.FromStrings("__name__", "http_requests_total", "instance", inst)
		for i := int64(0); i <= 40; i++ {
			_, err := app.Append(0, lset, i*15000, float64(i))
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	ts, err := query.OpenTombstones(dir)
	require.NoError(t, err)
	opts := APIOptions{Engine: newEngine(t, EngineOptions{}), Queryable: query.New(h, query.WithTombstones(ts))}
	if enable {
		a, err := query.NewAdmin(query.AdminOptions{Head: h, Tombstones: ts, Dir: dir})
		require.NoError(t, err)
		opts.Admin = a
	}
	api, err := NewAPI(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, dir
}

// send makes a request with the parameters as a urlencoded form body and
// returns the status and the body.
func send(t *testing.T, srv *httptest.Server, method, path string, params url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(params.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

var adminPaths = []string{
	"/api/v1/admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series", "/api/v1/admin/tsdb/clean_tombstones",
}

func TestAdminDisabledAnswersAsPrometheus(t *testing.T) {
	srv, _ := newAdminAPI(t, false)
	for _, p := range adminPaths {
		code, body := send(t, srv, http.MethodPost, p, url.Values{"match[]": {"up"}})
		require.Equal(t, http.StatusServiceUnavailable, code, p)
		require.JSONEq(t, `{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}`, body, p)
	}
}

func TestAdminDeleteSeriesMasksQueries(t *testing.T) {
	srv, _ := newAdminAPI(t, true)
	count := func(q string) string {
		t.Helper()
		code, body := send(t, srv, http.MethodPost, "/api/v1/query", url.Values{"query": {q}, "time": {"600"}})
		require.Equal(t, http.StatusOK, code, body)
		var r struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &r))
		var out []string
		for _, s := range r.Data.Result {
			out = append(out, s.Metric["instance"]+"="+s.Value[1].(string))
		}
		return strings.Join(out, ",")
	}
	// The range is left-open: the sample at 0 is out.
	require.Equal(t, "a=40,b=40", count(`count_over_time(http_requests_total[10m])`))

	// Samples from 60s to 120s of instance a: 5 of them.
	code, body := send(t, srv, http.MethodPost, "/api/v1/admin/tsdb/delete_series",
		url.Values{"match[]": {`http_requests_total{instance="a"}`}, "start": {"60"}, "end": {"120"}})
	require.Equal(t, http.StatusNoContent, code, body)
	require.Empty(t, body)
	require.Equal(t, "a=35,b=40", count(`count_over_time(http_requests_total[10m])`), "queries honour it at once")

	// Everything of b: the series is gone from /series as well.
	code, body = send(t, srv, http.MethodPut, "/api/v1/admin/tsdb/delete_series", url.Values{"match[]": {`{instance="b"}`}})
	require.Equal(t, http.StatusNoContent, code, body)
	require.Equal(t, "a=35", count(`count_over_time(http_requests_total[10m])`))
	code, body = send(t, srv, http.MethodPost, "/api/v1/series", url.Values{"match[]": {"http_requests_total"}, "start": {"0"}, "end": {"600"}})
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"success","data":[{"__name__":"http_requests_total","instance":"a"}]}`, body)

	code, body = send(t, srv, http.MethodPost, "/api/v1/admin/tsdb/clean_tombstones", nil)
	require.Equal(t, http.StatusNoContent, code, body)
	require.Equal(t, "a=35", count(`count_over_time(http_requests_total[10m])`))
}

func TestAdminParamsAndMethods(t *testing.T) {
	srv, _ := newAdminAPI(t, true)
	for _, tc := range []struct {
		params url.Values
		msg    string
	}{
		{url.Values{}, "no match[] parameter provided"},
		{url.Values{"match[]": {"{"}}, "parse error"},
		{url.Values{"match[]": {"up"}, "start": {"x"}}, "cannot parse"},
		{url.Values{"match[]": {"up"}, "start": {"10"}, "end": {"5"}}, "end timestamp must not be before start time"},
	} {
		code, body := send(t, srv, http.MethodPost, "/api/v1/admin/tsdb/delete_series", tc.params)
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, body, tc.msg)
	}
	for _, p := range adminPaths {
		code, _ := send(t, srv, http.MethodGet, p, nil)
		require.Equal(t, http.StatusMethodNotAllowed, code, p)
	}
	code, body := send(t, srv, http.MethodPost, "/api/v1/admin/tsdb/snapshot", url.Values{"skip_head": {"maybe"}})
	require.Equal(t, http.StatusBadRequest, code, body)
}

func TestAdminSnapshotAnswersItsName(t *testing.T) {
	srv, dir := newAdminAPI(t, true)
	code, body := send(t, srv, http.MethodPost, "/api/v1/admin/tsdb/snapshot", nil)
	require.Equal(t, http.StatusOK, code, body)
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	require.Equal(t, "success", r.Status)
	require.Regexp(t, `^\d{8}T\d{6}Z-[0-9a-f]{16}$`, r.Data.Name)
	for _, p := range []string{"wal", query.TombstonesFile} {
		_, err := os.Stat(filepath.Join(dir, "snapshots", r.Data.Name, p))
		require.NoError(t, err, "the snapshot holds %s", p)
	}
}
