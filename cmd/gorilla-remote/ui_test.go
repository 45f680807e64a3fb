package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWebUIRoutes checks that the server answers the UI's pages and the
// redirect of /, and that the API keeps every path the UI does not take.
func TestWebUIRoutes(t *testing.T) {
	d := startReloadServer(t, "log:\n  level: warn\n")
	defer func() { require.NoError(t, d.stop()) }()

	for _, p := range []string{"/query", "/series", "/status", "/correlate"} {
		resp, err := d.client.Get(d.url + p)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", p)
		require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), "GET %s", p)
		require.Contains(t, string(body), `<main id="page">`, "GET %s", p)
	}

	noFollow := &http.Client{Transport: d.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := noFollow.Get(d.url + "/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusFound, resp.StatusCode, "GET /")
	require.Equal(t, "/query", resp.Header.Get("Location"), "GET /")

	a := get(t, d.testServer, "/api/v1/labels")
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.True(t, strings.HasPrefix(a.body, `{"status":"success"`), "the API still answers: %s", a.body)
	a = get(t, d.testServer, "/api/v1/status/cluster")
	require.Equal(t, http.StatusOK, a.code, a.body)
	a = get(t, d.testServer, "/ring")
	require.Equal(t, http.StatusOK, a.code, a.body)
}
