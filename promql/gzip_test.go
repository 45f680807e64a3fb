package promql

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawGet sends a GET with the given Accept-Encoding (none when empty)
// through a client that leaves the answer as the server sent it.
func rawGet(t *testing.T, srv *httptest.Server, path, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(out)
}

func TestGzipWhenAsked(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	path := "/api/v1/query?" + url.Values{"query": {"sum(http_requests_total)"}, "time": {"600"}}.Encode()
	_, plainBody := get(t, srv, "/api/v1/query", url.Values{"query": {"sum(http_requests_total)"}, "time": {"600"}})

	for _, ae := range []string{"gzip", "deflate, gzip;q=0.5", "br, GZIP", "*"} {
		resp, b := rawGet(t, srv, path, ae)
		require.Equal(t, http.StatusOK, resp.StatusCode, ae)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), ae)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"), ae)
		require.Contains(t, resp.Header.Values("Vary"), "Accept-Encoding", ae)
		require.Equal(t, plainBody, gunzip(t, b), ae)
	}

	// An error answer is compressed too.
	resp, b := rawGet(t, srv, "/api/v1/query?query=sum(", "gzip")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	require.Contains(t, gunzip(t, b), `"errorType":"bad_data"`)
}

func TestPlainWhenNotAsked(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	path := "/api/v1/query?" + url.Values{"query": {"sum(http_requests_total)"}, "time": {"600"}}.Encode()
	for _, ae := range []string{"", "identity", "deflate", "gzip;q=0", "br, gzip; q=0.0"} {
		resp, b := rawGet(t, srv, path, ae)
		require.Equal(t, http.StatusOK, resp.StatusCode, ae)
		require.Empty(t, resp.Header.Get("Content-Encoding"), ae)
		require.Contains(t, resp.Header.Values("Vary"), "Accept-Encoding", ae)
		require.JSONEq(t, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[600,"120"]}]}}`, string(b), ae)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "x-gzip": false, "gzip;q=0": false, "gzip;q=0.001": true,
		"identity, *;q=0": false, "*": true, " deflate , gzip ": true,
	} {
		if got := acceptsGzip([]string{header}); got != want {
			t.Fatalf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
