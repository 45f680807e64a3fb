package promql

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// newTestAPI opens a head in a temporary directory holding two counters
// (instance a grows by 1 per 15s, b by 2) over ten minutes from time 0,
// and serves the API over it.
func newTestAPI(t *testing.T, eo EngineOptions) *httptest.Server {
	t.Helper()
	return newWrappedTestAPI(t, eo, func(q storage.Queryable) storage.Queryable { return q })
}

// newWrappedTestAPI is newTestAPI with the queryable wrapped by wrap.
func newWrappedTestAPI(t *testing.T, eo EngineOptions, wrap func(storage.Queryable) storage.Queryable) *httptest.Server {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	a := labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "a")
	b := labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "b")
	g := labels.FromStrings("__name__", "temperature", "room", "kitchen")
	for i := int64(0); i <= 40; i++ {
		_, err := app.Append(0, a, i*15000, float64(i))
		require.NoError(t, err)
		_, err = app.Append(0, b, i*15000, float64(2*i))
		require.NoError(t, err)
		_, err = app.Append(0, g, i*15000, 21.5)
		require.NoError(t, err)
	}
	for _, ts := range []int64{30_000, 450_000} {
		_, err := app.AppendExemplar(0, a, model.Exemplar{Labels: labels.FromStrings("trace_id", "t"+strconv.FormatInt(ts, 10)), T: ts, V: 1.5})
		require.NoError(t, err)
	}
	require.NoError(t, app.UpdateMetadata("http_requests_total", model.Metadata{Type: "counter", Help: "Requests served."}))
	require.NoError(t, app.Commit())

	api, err := NewAPI(APIOptions{
		Engine:    newEngine(t, eo),
		Queryable: wrap(query.New(h)),
		Metadata:  h,
		Exemplars: h,
		HeadStats: func() HeadStats {
			st := h.Stats()
			return HeadStats{Series: st.Series, Chunks: st.Chunks, Samples: st.Samples, MinTime: st.MinTime, MaxTime: st.MaxTime}
		},
		BuildInfo: BuildInfo{Version: "1.0.0", GoVersion: "go1.26.8"},
	})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

// get sends a GET with the parameters in the query string.
func get(t *testing.T, srv *httptest.Server, path string, params url.Values) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path + "?" + params.Encode())
	require.NoError(t, err)
	return readBody(t, resp)
}

// post sends the parameters as a urlencoded form body, as Grafana does.
func post(t *testing.T, srv *httptest.Server, path string, params url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+path, params)
	require.NoError(t, err)
	return readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestInstantQuery(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	cases := []struct {
		query, time, want string
	}{
		{`sum(http_requests_total)`, "600", `{"resultType":"vector","result":[{"metric":{},"value":[600,"120"]}]}`},
		{`http_requests_total{instance="b"}`, "1970-01-01T00:05:00Z",
			`{"resultType":"vector","result":[{"metric":{"__name__":"http_requests_total","instance":"b","job":"api"},"value":[300,"40"]}]}`},
		{`rate(http_requests_total{instance="a"}[1m])`, "600",
			`{"resultType":"vector","result":[{"metric":{"instance":"a","job":"api"},"value":[600,"0.06666666666666665"]}]}`},
		{`temperature`, "600.5", `{"resultType":"vector","result":[{"metric":{"__name__":"temperature","room":"kitchen"},"value":[600.5,"21.5"]}]}`},
		{`1+1`, "4", `{"resultType":"scalar","result":[4,"2"]}`},
		{`1+1`, "-1.25", `{"resultType":"scalar","result":[-1.25,"2"]}`},
		{`1/0`, "4", `{"resultType":"scalar","result":[4,"+Inf"]}`},
		{`-1/0`, "4", `{"resultType":"scalar","result":[4,"-Inf"]}`},
		{`0/0`, "4", `{"resultType":"scalar","result":[4,"NaN"]}`},
		{`"hello"`, "4", `{"resultType":"string","result":[4,"hello"]}`},
		{`no_such_metric`, "600", `{"resultType":"vector","result":[]}`},
	}
	for _, c := range cases {
		code, body := get(t, srv, "/api/v1/query", url.Values{"query": {c.query}, "time": {c.time}})
		require.Equal(t, http.StatusOK, code, body)
		require.JSONEq(t, `{"status":"success","data":`+c.want+`}`, body, c.query)
	}
}

func TestRangeQuery(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := get(t, srv, "/api/v1/query_range", url.Values{
		"query": {`http_requests_total{instance="b"}`}, "start": {"540"}, "end": {"600"}, "step": {"30s"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"matrix","result":[
		{"metric":{"__name__":"http_requests_total","instance":"b","job":"api"},"values":[[540,"72"],[570,"76"],[600,"80"]]}]}}`, body)

	code, body = get(t, srv, "/api/v1/query_range", url.Values{
		"query": {`sum by (job) (increase(http_requests_total[1m]))`}, "start": {"60"}, "end": {"120"}, "step": {"60"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"matrix","result":[
		{"metric":{"job":"api"},"values":[[60,"12"],[120,"12"]]}]}}`, body)

	code, body = get(t, srv, "/api/v1/query_range", url.Values{
		"query": {`no_such_metric`}, "start": {"0"}, "end": {"600"}, "step": {"60"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, body)
}

func TestQueryErrors(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{MaxSamples: 10})
	cases := []struct {
		path     string
		params   url.Values
		code     int
		typ      string
		contains string
	}{
		{"/api/v1/query", url.Values{"query": {"sum(http_requests_total"}}, 400, "bad_data", "1:24: parse error"},
		{"/api/v1/query", url.Values{"query": {"up"}, "time": {"yesterday"}}, 400, "bad_data", `cannot parse`},
		{"/api/v1/query_range", url.Values{"query": {"http_requests_total"}, "start": {"0"}, "end": {"600"}, "step": {"15"}},
			422, "execution", "limit: 10 samples"},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"600"}, "end": {"0"}, "step": {"15"}},
			400, "bad_data", "end timestamp must not be before start time"},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"600"}, "step": {"0"}},
			400, "bad_data", "zero or negative query resolution step"},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"0"}, "end": {"600000"}, "step": {"1"}},
			400, "bad_data", "11,000 points"},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "end": {"600"}, "step": {"15"}}, 400, "bad_data", `start\": missing`},
		{"/api/v1/series", url.Values{}, 400, "bad_data", "no match[] parameter provided"},
		{"/api/v1/series", url.Values{"match[]": {"{"}}, 400, "bad_data", "match[]"},
		{"/api/v1/label/%ff/values", url.Values{}, 400, "bad_data", "invalid label name"},
		{"/api/v1/labels", url.Values{"limit": {"-1"}}, 400, "bad_data", "limit"},
	}
	for _, c := range cases {
		code, body := get(t, srv, c.path, c.params)
		require.Equal(t, c.code, code, body)
		require.Contains(t, body, `"status":"error"`)
		require.Contains(t, body, `"errorType":"`+c.typ+`"`, body)
		require.Contains(t, body, c.contains, body)
	}
}

func TestSeriesLimitAnswersExecution(t *testing.T) {
	srv := newWrappedTestAPI(t, EngineOptions{}, func(q storage.Queryable) storage.Queryable {
		return query.LimitSeries(q, func() int { return 2 })
	})
	for _, c := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/query", url.Values{"query": {"http_requests_total + on() group_left temperature"}, "time": {"600"}}},
		{"/api/v1/query_range", url.Values{"query": {"{__name__=~\".+\"}"}, "start": {"0"}, "end": {"600"}, "step": {"15"}}},
		{"/api/v1/series", url.Values{"match[]": {"http_requests_total", "temperature"}}},
	} {
		code, body := get(t, srv, c.path, c.params)
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s %v: %s", c.path, c.params, body)
		require.Contains(t, body, `"errorType":"execution"`, body)
		require.Contains(t, body, "more than 2 series, the limit per query (max_fetched_series_per_query)", body)
	}
	code, body := get(t, srv, "/api/v1/series", url.Values{"match[]": {"http_requests_total"}})
	require.Equal(t, http.StatusOK, code, "2 series pass a limit of 2: %s", body)
}

func TestQueryTimeout(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	// The deadline is set by a timer, which a loaded machine may fire
	// late: the query must be one that runs far longer than the timeout
	// (millions of subquery steps).
	code, body := get(t, srv, "/api/v1/query_range", url.Values{
		"query": {"sum(count_over_time(http_requests_total[30d:1s]))"}, "start": {"0"}, "end": {"600"}, "step": {"15"}, "timeout": {"0.01"},
	})
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, `"errorType":"timeout"`)
}

func TestSeriesAndLabels(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	cases := []struct {
		path   string
		params url.Values
		want   string
	}{
		{"/api/v1/series", url.Values{"match[]": {`http_requests_total{instance="a"}`, `temperature`}},
			`[{"__name__":"http_requests_total","instance":"a","job":"api"},{"__name__":"temperature","room":"kitchen"}]`},
		{"/api/v1/series", url.Values{"match[]": {`no_such_metric`}}, `[]`},
		{"/api/v1/labels", url.Values{}, `["__name__","instance","job","room"]`},
		{"/api/v1/labels", url.Values{"match[]": {`temperature`}}, `["__name__","room"]`},
		{"/api/v1/labels", url.Values{"match[]": {`no_such_metric`}}, `[]`},
		{"/api/v1/label/__name__/values", url.Values{}, `["http_requests_total","temperature"]`},
		{"/api/v1/label/instance/values", url.Values{"match[]": {`http_requests_total{instance!="b"}`}}, `["a"]`},
		{"/api/v1/label/instance/values", url.Values{"start": {"-100"}, "end": {"1e6"}}, `["a","b"]`},
		{"/api/v1/label/nothing/values", url.Values{}, `[]`},
		{"/api/v1/label/U__r_6f_om/values", url.Values{}, `["kitchen"]`},
	}
	for _, c := range cases {
		for _, send := range []func(*testing.T, *httptest.Server, string, url.Values) (int, string){get, post} {
			code, body := send(t, srv, c.path, c.params)
			require.Equal(t, http.StatusOK, code, body)
			require.JSONEq(t, `{"status":"success","data":`+c.want+`}`, body, c.path)
		}
	}
}

func TestLimitWarns(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := get(t, srv, "/api/v1/label/__name__/values", url.Values{"limit": {"1"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":["http_requests_total"],"warnings":["results truncated due to limit"]}`, body)
	code, body = get(t, srv, "/api/v1/series", url.Values{"match[]": {`{job="api"}`}, "limit": {"1"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":[{"__name__":"http_requests_total","instance":"a","job":"api"}],"warnings":["results truncated due to limit"]}`, body)
}

func TestGetAndPostAgree(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	params := url.Values{"query": {`sum by (instance) (rate(http_requests_total[2m]))`}, "start": {"300"}, "end": {"600"}, "step": {"60"}}
	gc, gb := get(t, srv, "/api/v1/query_range", params)
	pc, pb := post(t, srv, "/api/v1/query_range", params)
	require.Equal(t, http.StatusOK, gc, gb)
	require.Equal(t, gc, pc)
	require.JSONEq(t, gb, pb)

	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/query", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestGrafanaRequests replays what Grafana's Prometheus datasource sends:
// the health check, flavour detection, the label browser, autocomplete
// metadata and a panel's range query as a POST form.
func TestGrafanaRequests(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := post(t, srv, "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"4"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}`, body)

	code, body = get(t, srv, "/api/v1/status/buildinfo", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"version":"1.0.0","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":"go1.26.8"}}`, body)

	code, body = get(t, srv, "/api/v1/labels", url.Values{"start": {"0"}, "end": {"600"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":["__name__","instance","job","room"]}`, body)

	code, body = get(t, srv, "/api/v1/label/__name__/values", url.Values{"start": {"0"}, "end": {"600"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":["http_requests_total","temperature"]}`, body)

	code, body = get(t, srv, "/api/v1/metadata", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"http_requests_total":[{"type":"counter","help":"Requests served.","unit":""}]}}`, body)

	code, body = post(t, srv, "/api/v1/query_range", url.Values{
		"query": {`sum(rate(http_requests_total[1m]))`}, "start": {"540"}, "end": {"600"}, "step": {"60"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[540,"0.19999999999999996"],[600,"0.19999999999999996"]]}]}}`, body)
}

func TestStatusAndFormat(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := get(t, srv, "/api/v1/status/tsdb", url.Values{"limit": {"2"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"numSeries":3`)
	require.Contains(t, body, `"seriesCountByMetricName":[{"name":"http_requests_total","value":2},{"name":"temperature","value":1}]`)
	require.Contains(t, body, `"minTime":0,"maxTime":600000`)

	code, body = post(t, srv, "/api/v1/format_query", url.Values{"query": {"sum(rate(x[5m]))by(job)"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":"sum by (job) (rate(x[5m]))"}`, body)

	code, body = get(t, srv, "/api/v1/metadata", url.Values{"metric": {"nope"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{}}`, body)
}

func TestQueryExemplars(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := post(t, srv, "/api/v1/query_exemplars", url.Values{
		"query": {`sum(rate(http_requests_total[5m])) / sum(rate(http_requests_total{instance="a"}[5m]))`},
		"start": {"0"}, "end": {"600"},
	})
	require.Equal(t, http.StatusOK, code, body)
	// The series is picked by both selectors but listed once.
	require.JSONEq(t, `{"status":"success","data":[{
		"seriesLabels":{"__name__":"http_requests_total","instance":"a","job":"api"},
		"exemplars":[{"labels":{"trace_id":"t30000"},"value":"1.5","timestamp":30},
		             {"labels":{"trace_id":"t450000"},"value":"1.5","timestamp":450}]}]}`, body)

	code, body = get(t, srv, "/api/v1/query_exemplars", url.Values{"query": {"http_requests_total"}, "start": {"100"}, "end": {"600"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"t450000"`)
	require.NotContains(t, body, `"t30000"`)

	code, body = get(t, srv, "/api/v1/query_exemplars", url.Values{"query": {"temperature"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":[]}`, body)

	code, body = get(t, srv, "/api/v1/query_exemplars", url.Values{"query": {"sum("}})
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"errorType":"bad_data"`)
}

func TestParseQuery(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := get(t, srv, "/api/v1/parse_query", url.Values{"query": {`sum by (job) (rate(x{a!="b"}[5m] offset 1m)) > bool 2`}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{
		"type":"binaryExpr","op":">","bool":true,"matching":null,
		"rhs":{"type":"numberLiteral","val":"2"},
		"lhs":{"type":"aggregation","op":"sum","grouping":["job"],"without":false,"param":null,
			"expr":{"type":"call","func":{"name":"rate","argTypes":["matrix"],"variadic":0,"returnType":"vector"},
				"args":[{"type":"matrixSelector","name":"x","range":300000,"offset":60000,"timestamp":null,"startOrEnd":null,
					"matchers":[{"type":"!=","name":"a","value":"b"},{"type":"=","name":"__name__","value":"x"}]}]}}}}`, body)

	code, body = get(t, srv, "/api/v1/parse_query", url.Values{"query": {`a + on (b) group_left (c) d`}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"matching":{"card":"many-to-one","labels":["b"],"on":true,"include":["c"]}`)

	code, body = get(t, srv, "/api/v1/parse_query", url.Values{"query": {`x[5m:1m] @ end()`}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"type":"subquery"`)
	require.Contains(t, body, `"startOrEnd":"end"`)

	code, body = get(t, srv, "/api/v1/parse_query", url.Values{"query": {`rate(x[5m]`}})
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"errorType":"bad_data"`)
}

// TestClientGoneCancels checks that a request whose client has gone away
// stops its query and is reported as canceled.
func TestClientGoneCancels(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	api := srv.Config.Handler
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/query?query=sum(http_requests_total)&time=600", nil)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	require.Equal(t, statusClientClosed, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"errorType":"canceled"`)
}

func TestEngineLimitsConcurrency(t *testing.T) {
	l := newLimiter(1)
	_, err := l.Insert(context.Background(), "a")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = l.Insert(ctx, "b")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	l.Delete(0)
	_, err = l.Insert(context.Background(), "c")
	require.NoError(t, err)
}

func TestUnknownEndpoint(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := get(t, srv, "/api/v1/no_such_endpoint", nil)
	require.Equal(t, http.StatusNotFound, code, body)
	require.JSONEq(t, `{"status":"error","errorType":"not_found","error":"unknown endpoint /api/v1/no_such_endpoint"}`, body)
}

// TestConcurrentQueriesKeepTheirResults runs many queries at once, each for
// its own series: every answer must hold that series' samples. (The engine
// hands a closed query's point slices to the next query; answers must be
// encoded before their query is closed.)
func TestConcurrentQueriesKeepTheirResults(t *testing.T) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	const series = 64
	app := h.Appender()
	for i := range series {
		for ts := int64(0); ts < 60; ts++ {
			_, err := app.Append(0, labels.FromStrings("__name__", "x", "i", strconv.Itoa(i)), ts*1000, float64(i*1000)+float64(ts))
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	api, err := NewAPI(APIOptions{Engine: newEngine(t, EngineOptions{}), Queryable: query.New(h)})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 100 {
				i := (w*31 + k*7) % series
				resp, err := http.Get(srv.URL + "/api/v1/query?" + url.Values{"query": {fmt.Sprintf(`x{i="%d"}[1m]`, i)}, "time": {"59"}}.Encode())
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				want := fmt.Sprintf(`[59,"%d"]]}]}}`, i*1000+59)
				if !strings.HasSuffix(string(body), want) || !strings.Contains(string(body), fmt.Sprintf(`[0,"%d"]`, i*1000)) {
					errs <- fmt.Errorf("series %d: got %s", i, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAnswerOutlivesItsQuery encodes an answer after the next query ran:
// the engine reuses a closed query's points, so an answer must not refer
// to them.
func TestAnswerOutlivesItsQuery(t *testing.T) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	for _, name := range []string{"a", "b"} {
		for ts := int64(0); ts < 60; ts++ {
			v := float64(ts)
			if name == "b" {
				v += 1000
			}
			_, err := app.Append(0, labels.FromStrings("__name__", name), ts*1000, v)
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	a, err := NewAPI(APIOptions{Engine: newEngine(t, EngineOptions{}), Queryable: query.New(h)})
	require.NoError(t, err)
	run := func(qs string) any {
		q, err := a.opts.Engine.NewInstantQuery(context.Background(), a.opts.Queryable, nil, qs, time.UnixMilli(59_000))
		require.NoError(t, err)
		res, aerr := a.exec(context.Background(), q, qs)
		require.Nil(t, aerr)
		return res.(*result).data
	}
	first := run("a[1m]")
	for range 10 {
		run("b[1m]")
	}
	b, err := json.Marshal(first)
	require.NoError(t, err)
	require.Contains(t, string(b), `[0,"0"]`)
	require.NotContains(t, string(b), `"1000"`)
}
