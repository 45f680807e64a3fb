package promql

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// emptyQueryable holds no series.
var emptyQueryable = storage.QueryableFunc(func(int64, int64) (storage.Querier, error) {
	return storage.NoopQuerier(), nil
})

// newLimitedAPI serves the API over q with the given options.
func newLimitedAPI(t *testing.T, q storage.Queryable, eo EngineOptions, opts APIOptions) *httptest.Server {
	t.Helper()
	opts.Engine, opts.Queryable = newEngine(t, eo), q
	api, err := NewAPI(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

// errorOf decodes an error envelope.
func errorOf(t *testing.T, body string) (typ, msg string) {
	t.Helper()
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &r), body)
	require.Equal(t, "error", r.Status, body)
	return r.ErrorType, r.Error
}

// chain is "up+up+...+up" with n terms.
func chain(n int) string { return strings.TrimSuffix(strings.Repeat("up+", n), "+") }

func TestQueryTooLong(t *testing.T) {
	srv := newLimitedAPI(t, emptyQueryable, EngineOptions{}, APIOptions{})
	long := `{__name__=~"` + strings.Repeat("a", DefaultMaxQueryLength) + `"}`
	for _, send := range []func(*testing.T, *httptest.Server, string, url.Values) (int, string){get, post} {
		for path, params := range map[string]url.Values{
			"/api/v1/query":        {"query": {long}},
			"/api/v1/query_range":  {"query": {long}, "start": {"0"}, "end": {"60"}, "step": {"15"}},
			"/api/v1/format_query": {"query": {long}},
			"/api/v1/parse_query":  {"query": {long}},
			"/api/v1/series":       {"match[]": {long}},
		} {
			code, body := send(t, srv, path, params)
			require.Equal(t, http.StatusBadRequest, code, path)
			typ, msg := errorOf(t, body)
			require.Equal(t, "bad_data", typ, path)
			require.Contains(t, msg, "more than the limit of 262144 bytes", path)
			require.Less(t, len(body), 1024, "the answer does not echo the query")
		}
	}
	// The chain that kept a core busy for minutes is refused at once.
	huge := chain(200_000)
	for _, send := range []func(*testing.T, *httptest.Server, string, url.Values) (int, string){get, post} {
		code, body := send(t, srv, "/api/v1/query", url.Values{"query": {huge}})
		require.Equal(t, http.StatusBadRequest, code)
		typ, msg := errorOf(t, body)
		require.Equal(t, "bad_data", typ)
		require.Contains(t, msg, "expression of 599999 bytes")
	}
	// Right at the limit is accepted.
	atLimit := `{__name__=~"` + strings.Repeat("a", DefaultMaxQueryLength-14) + `"}`
	require.Len(t, atLimit, DefaultMaxQueryLength)
	code, body := post(t, srv, "/api/v1/query", url.Values{"query": {atLimit}})
	require.Equal(t, http.StatusOK, code, body[:min(len(body), 300)])
}

func TestQueryTooDeep(t *testing.T) {
	srv := newLimitedAPI(t, emptyQueryable, EngineOptions{}, APIOptions{})
	deep := map[string]string{
		"operator chain": chain(DefaultMaxQueryDepth + 1),
		"brackets":       strings.Repeat("(", DefaultMaxQueryDepth) + "up" + strings.Repeat(")", DefaultMaxQueryDepth),
		"calls":          strings.Repeat("abs(", DefaultMaxQueryDepth) + "up" + strings.Repeat(")", DefaultMaxQueryDepth),
		"unary minus":    strings.Repeat("-", DefaultMaxQueryDepth+1) + "up",
	}
	for name, q := range deep {
		code, body := post(t, srv, "/api/v1/query", url.Values{"query": {q}})
		require.Equal(t, http.StatusBadRequest, code, name)
		typ, msg := errorOf(t, body)
		require.Equal(t, "bad_data", typ, name)
		require.Contains(t, msg, "nested deeper than 1000 levels", name)
	}
	for name, q := range map[string]string{
		"long chain":        chain(DefaultMaxQueryDepth - 10),
		"arguments":         "clamp(" + chain(600) + ", " + strings.TrimSuffix(strings.Repeat("1+", 600), "+") + ", 2)",
		"selector matchers": `up{` + strings.Repeat(`a!="b",`, 2000) + `c="d"}`,
		"long regex":        `up{a=~"` + strings.Repeat("x|", 50_000) + `y"}`,
	} {
		code, body := post(t, srv, "/api/v1/query", url.Values{"query": {q}})
		require.Equal(t, http.StatusOK, code, "%s: %s", name, body[:min(len(body), 300)])
	}
}

// TestLargeAllowedQueryEndsInTime sends the largest kind of expression the
// limits let through, under a short timeout: the answer is a result or a
// timeout, never a core kept busy long after the deadline.
func TestLargeAllowedQueryEndsInTime(t *testing.T) {
	srv := newLimitedAPI(t, emptyQueryable, EngineOptions{Timeout: 20 * time.Millisecond}, APIOptions{})
	group := "(" + chain(DefaultMaxQueryDepth/2) + ")"
	var b strings.Builder
	for b.Len()+len(group)+1 <= DefaultMaxQueryLength {
		if b.Len() > 0 {
			b.WriteByte('+')
		}
		b.WriteString(group)
	}
	for _, send := range []func(*testing.T, *httptest.Server, string, url.Values) (int, string){get, post} {
		code, body := send(t, srv, "/api/v1/query", url.Values{"query": {b.String()}, "time": {"600"}})
		if code == http.StatusOK {
			continue
		}
		typ, _ := errorOf(t, body)
		require.Equal(t, "timeout", typ, body)
		require.Equal(t, http.StatusServiceUnavailable, code)
	}
}

func TestErrorBodyIsCapped(t *testing.T) {
	srv := newLimitedAPI(t, emptyQueryable, EngineOptions{}, APIOptions{})
	huge := strings.Repeat("x", 100_000)
	for path, params := range map[string]url.Values{
		"/api/v1/query":                        {"query": {"up"}, "time": {huge}},
		"/api/v1/query_range":                  {"query": {"up"}, "start": {"0"}, "end": {"60"}, "step": {huge}},
		"/api/v1/labels":                       {"limit": {huge}},
		"/api/v1/label/%ff" + huge + "/values": {},
	} {
		code, body := get(t, srv, path, params)
		require.Equal(t, http.StatusBadRequest, code, path[:min(len(path), 40)])
		_, msg := errorOf(t, body)
		if len(msg) > maxErrorMessage+32 {
			t.Fatalf("%.40s: error of %d bytes, want about %d at most", path, len(msg), maxErrorMessage)
		}
		require.Contains(t, msg, "more bytes)", path[:min(len(path), 40)])
	}
}

// blockingQueryable holds the first query that opens a querier until
// release is closed.
type blockingQueryable struct {
	storage.Queryable
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (b *blockingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.entered)
		<-b.release
	}
	return b.Queryable.Querier(mint, maxt)
}

func TestQueryInflightLimit(t *testing.T) {
	q := &blockingQueryable{Queryable: emptyQueryable, entered: make(chan struct{}), release: make(chan struct{})}
	srv := newLimitedAPI(t, q, EngineOptions{}, APIOptions{MaxInflight: 1})
	var once sync.Once
	release := func() { once.Do(func() { close(q.release) }) }
	t.Cleanup(release) // before the server closes, also when the test fails
	first := make(chan int)
	go func() {
		resp, err := http.Get(srv.URL + "/api/v1/query?query=up&time=600")
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-q.entered

	resp, err := http.Get(srv.URL + "/api/v1/labels")
	require.NoError(t, err)
	code, body := readBody(t, resp)
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Equal(t, "5", resp.Header.Get("Retry-After"))
	typ, msg := errorOf(t, body)
	require.Equal(t, "unavailable", typ)
	require.Contains(t, msg, "1 requests in flight")

	release()
	require.Equal(t, http.StatusOK, <-first)
	code, body = get(t, srv, "/api/v1/query", url.Values{"query": {"up"}, "time": {"600"}})
	require.Equal(t, http.StatusOK, code, body)
}

// deadlineRecorder is a ResponseRecorder that records the write deadlines
// set through http.ResponseController.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

func TestWriteDeadlineCoversTheQueryTimeout(t *testing.T) {
	const timeout, write = time.Hour, time.Minute
	api, err := NewAPI(APIOptions{Engine: newEngine(t, EngineOptions{Timeout: timeout}), Queryable: emptyQueryable, WriteTimeout: write})
	require.NoError(t, err)
	w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	before := time.Now()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/query", bytes.NewBufferString("query=up&time=600"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	api.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Len(t, w.deadlines, 1)
	require.False(t, w.deadlines[0].Before(before.Add(timeout+write)), "deadline %v, want the query timeout plus the write timeout", w.deadlines[0])
}
