package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// fullDisk makes the WAL files it creates fail with ENOSPC while full is
// set, tearing each write as a filling disk does.
type fullDisk struct{ full atomic.Bool }

func (d *fullDisk) create(path string) (wal.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	return &fullFile{File: f, d: d}, nil
}

type fullFile struct {
	*os.File
	d *fullDisk
}

func (f *fullFile) Write(p []byte) (int, error) {
	if f.d.full.Load() {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

// answer is what the server said to one request.
type answer struct {
	code       int
	retryAfter string
	body       string
}

func do(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(body)}
}

func get(t *testing.T, d *testServer, path string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, d.url+path, nil)
	require.NoError(t, err)
	return do(t, d.client, req)
}

func writeSample(t *testing.T, d *testServer, ts int64) answer {
	t.Helper()
	return postWrite(t, d, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "disk_test"}},
		Samples: []prompb.Sample{{Timestamp: ts, Value: 1}},
	}}})
}

// postWrite sends wr as a remote-write 1.0 request.
func postWrite(t *testing.T, d *testServer, wr *prompb.WriteRequest) answer {
	t.Helper()
	raw, err := wr.Marshal()
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, d.url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	return do(t, d.client, req)
}

// TestWALUnavailableAnswers503 fills the disk under a running server:
// remote writes get 503 with Retry-After, /-/ready is 503 with the reason
// and the gauge is 1; once space is back the server is ready again by
// itself and writes succeed.
func TestWALUnavailableAnswers503(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	var disk fullDisk
	srv := newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	srv.walCreate = disk.create
	d, err := startTestServer(srv)
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()

	now := time.Now().UnixMilli()
	require.Equal(t, http.StatusNoContent, writeSample(t, d, now).code)

	disk.full.Store(true)
	a := writeSample(t, d, now+1000)
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	require.NotEmpty(t, a.retryAfter, "503 carries Retry-After")
	require.Contains(t, a.body, "no space left on device")
	require.Equal(t, http.StatusServiceUnavailable, writeSample(t, d, now+2000).code)
	ready := get(t, d, "/-/ready")
	require.Equal(t, http.StatusServiceUnavailable, ready.code)
	require.Contains(t, ready.body, "write-ahead log")
	require.Contains(t, ready.body, "no space left on device")
	require.Contains(t, get(t, d, "/metrics").body, "\ngorilla_wal_unavailable 1\n")

	disk.full.Store(false)
	for deadline := time.Now().Add(time.Minute); get(t, d, "/-/ready").code != http.StatusOK; time.Sleep(10 * time.Millisecond) {
		require.False(t, time.Now().After(deadline), "the server never became ready again")
	}
	require.Equal(t, http.StatusNoContent, writeSample(t, d, now+3000).code)
	metrics := get(t, d, "/metrics").body
	require.Contains(t, metrics, "\ngorilla_wal_unavailable 0\n")
	require.True(t, strings.Contains(metrics, "\ngorilla_wal_recoveries_total 1\n"), "one recovery counted")
	d.client.CloseIdleConnections()
}

// TestWALRepairFlag damages a segment that is not the last: the server
// refuses to start and names --wal.repair; with it, it starts and logs
// what it dropped.
func TestWALRepairFlag(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	h, err := head.Open(head.Options{Dir: dir, MaintenanceInterval: -1, Stripes: 16, WAL: wal.Options{SegmentSize: 4096}})
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, h.Append(labels.FromStrings("__name__", "repair_test", "i", strconv.Itoa(i)), 1000, 1))
	}
	require.NoError(t, h.Close())
	seg0 := filepath.Join(dir, "wal", "00000000")
	b, err := os.ReadFile(seg0)
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(seg0, b, 0o666))

	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = dir
	s.ListenAddress = freeAddr(t)
	err = newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()).run()
	require.ErrorIs(t, err, wal.ErrCorrupt)
	require.ErrorContains(t, err, "--wal.repair")

	s.WALRepair = true
	var logs bytes.Buffer
	d, err := startTestServer(newServer(s, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry()))
	require.NoError(t, err)
	require.NoError(t, d.stop())
	require.Contains(t, logs.String(), "WAL segment repaired")
	require.Contains(t, logs.String(), "segment=0")
}
