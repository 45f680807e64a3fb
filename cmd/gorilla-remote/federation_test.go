package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// TestTenantFederation writes one series as each of a and b and queries
// them as "a|b": the union, each series labelled __tenant_id__, which
// selectors and the label endpoints know; writes and admin take one
// tenant; a alone sees its own series without the label.
func TestTenantFederation(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startTenancyServer(t, tenancySettings(t))
	defer func() { require.NoError(t, d.stop()) }()
	now := time.Now().UnixMilli()
	for id, job := range map[string]string{"a": "x", "b": "y"} {
		wr := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels:    []prompb.Label{{Name: "__name__", Value: "fed_metric"}, {Name: "job", Value: job}},
			Samples:   []prompb.Sample{{Timestamp: now, Value: 1}},
			Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "t" + id}}, Value: 1, Timestamp: now}},
		}}}
		raw, err := wr.Marshal()
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, tenantRequest(t, d, id, http.MethodPost, "/api/v1/write", nil, raw).code)
	}
	at := strconv.FormatFloat(float64(now)/1000, 'f', 3, 64)
	query := func(id, q string) []map[string]string {
		t.Helper()
		a := tenantRequest(t, d, id, http.MethodGet, "/api/v1/query", url.Values{"query": {q}, "time": {at}}, nil)
		require.Equal(t, http.StatusOK, a.code, a.body)
		var ans struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
				} `json:"result"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(a.body), &ans))
		var out []map[string]string
		for _, r := range ans.Data.Result {
			out = append(out, r.Metric)
		}
		return out
	}
	require.ElementsMatch(t, []map[string]string{
		{"__name__": "fed_metric", "job": "x", "__tenant_id__": "a"},
		{"__name__": "fed_metric", "job": "y", "__tenant_id__": "b"},
	}, query("a|b", "fed_metric"))
	require.Equal(t, []map[string]string{{"__name__": "fed_metric", "job": "y", "__tenant_id__": "b"}},
		query("b|a", `fed_metric{__tenant_id__="b"}`))
	require.Equal(t, []map[string]string{{"job": "x", "__tenant_id__": "a"}}, query("a|b", `sum by (job, __tenant_id__) (fed_metric{job="x"})`))
	require.Equal(t, []map[string]string{{"__name__": "fed_metric", "job": "x"}}, query("a", "fed_metric"))

	from := strconv.FormatFloat(float64(now)/1000-60, 'f', 3, 64)
	a := tenantRequest(t, d, "a|b", http.MethodGet, "/api/v1/query_exemplars", url.Values{"query": {`fed_metric{__tenant_id__="b"}`}, "start": {from}, "end": {at}}, nil)
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.Contains(t, a.body, `"__tenant_id__":"b"`)
	require.Contains(t, a.body, `"tb"`)
	require.NotContains(t, a.body, `"ta"`)

	a = tenantRequest(t, d, "a|b", http.MethodGet, "/api/v1/label/__tenant_id__/values", nil, nil)
	require.JSONEq(t, `{"status":"success","data":["a","b"]}`, a.body)
	a = tenantRequest(t, d, "a|b", http.MethodGet, "/api/v1/labels", nil, nil)
	require.JSONEq(t, `{"status":"success","data":["__name__","__tenant_id__","job"]}`, a.body)

	require.Equal(t, http.StatusBadRequest, tenantRequest(t, d, "a|b", http.MethodPost, "/api/v1/write", nil, []byte{}).code)
	require.Equal(t, http.StatusBadRequest, tenantRequest(t, d, "a|b", http.MethodPost, "/api/v1/admin/tsdb/delete_series", url.Values{"match[]": {"fed_metric"}}, nil).code)
	require.Equal(t, http.StatusBadRequest, tenantRequest(t, d, "a|..", http.MethodGet, "/api/v1/labels", nil, nil).code)
	d.client.CloseIdleConnections()
}

// TestTenantFederationInflight: past --query.max-inflight federated
// requests at once, the next is answered 503 with Retry-After at once.
func TestTenantFederationInflight(t *testing.T) {
	s, err := defaultSettings()
	require.NoError(t, err)
	tn := newTenants(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	tn.fedInflight = make(chan struct{}, 1)
	tn.fedInflight <- struct{}{} // one federated request in flight
	r := httptest.NewRequest(http.MethodGet, "/api/v1/labels", nil)
	r.Header.Set(tenant.Header, "a|b")
	w := httptest.NewRecorder()
	tn.ServeHTTP(w, r)
	require.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
	require.NotEmpty(t, w.Header().Get("Retry-After"))
}
