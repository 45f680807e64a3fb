package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/remote"
)

func TestBenchAgainstHead(t *testing.T) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	defer h.Close()
	handler, err := remote.NewWriteHandler(appendable{h}, remote.WriteOptions{})
	require.NoError(t, err)
	var tenant atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant.Store(r.Header.Get("X-Scope-OrgID"))
		handler.ServeHTTP(w, r)
	}))
	defer srv.Close()

	c := &benchCommand{
		url: srv.URL + "/api/v1/write", series: 1000, rounds: 3, senders: 2, batch: 300,
		interval: 15 * time.Second, headers: []string{"X-Scope-OrgID=team-a"},
	}
	var out, progress bytes.Buffer
	require.NoError(t, c.exec(context.Background(), &out, &progress))
	s := out.String()
	require.Contains(t, s, "samples acknowledged  3000 of 3000\n")
	// Each sender owns 500 series: two requests per round.
	require.Contains(t, s, "requests              12\n")
	require.Contains(t, s, "failed                0\n")
	require.Contains(t, progress.String(), "prepared 3000 samples of 1000 series in 3 rounds")
	require.Equal(t, "team-a", tenant.Load())
}

func TestBenchFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "out of order sample", http.StatusBadRequest)
	}))
	defer srv.Close()

	c := &benchCommand{url: srv.URL, series: 10, rounds: 2, senders: 1, batch: 2000, interval: time.Second}
	var out, progress bytes.Buffer
	err := c.exec(context.Background(), &out, &progress)
	var failed errRequestsFailed
	require.True(t, errors.As(err, &failed), "got %v", err)
	require.Equal(t, int64(2), failed.n)
	s := out.String()
	require.Contains(t, s, "samples acknowledged  0 of 20\n")
	require.Contains(t, s, "failed                2\n")
	require.Contains(t, s, "400 out of order sample")
	require.Equal(t, 1, strings.Count(s, "error "), "errors are distinct")
}

func TestBenchBadHeader(t *testing.T) {
	c := &benchCommand{url: "http://unused", series: 1, rounds: 1, headers: []string{"novalue"}}
	require.Error(t, c.exec(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}))
}
