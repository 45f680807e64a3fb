package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// syncBuffer is a buffer the server's goroutines log into while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// reloadServer is a test server started as the serve command starts one:
// from a command line naming a config file, with a logger whose level a
// reload sets.
type reloadServer struct {
	*testServer
	file  string
	level *slog.LevelVar
	logs  *syncBuffer
}

// startReloadServer writes file as the config file and starts a server
// from it and the flags.
func startReloadServer(t *testing.T, file string, flags ...string) *reloadServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gorilla.yml")
	require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
	args := append([]string{"serve", "--config.file=" + path, "--storage.path=" + t.TempDir(),
		"--web.listen-address=" + freeAddr(t)}, flags...)
	s, err := resolveArgs(args)
	require.NoError(t, err)
	logs := &syncBuffer{}
	level := new(slog.LevelVar)
	level.Set(parseLevel(s.LogLevel))
	srv := newServer(s, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level})), prometheus.NewRegistry())
	srv.level = level
	srv.loadSettings = func() (settings, error) { return resolveArgs(args) }
	d, err := startTestServer(srv)
	require.NoError(t, err)
	return &reloadServer{testServer: d, file: path, level: level, logs: logs}
}

func (d *reloadServer) rewrite(t *testing.T, file string) {
	t.Helper()
	require.NoError(t, os.WriteFile(d.file, []byte(file), 0o600))
}

func post(t *testing.T, d *testServer, path string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url+path, nil)
	require.NoError(t, err)
	return do(t, d.client, req)
}

// TestSIGHUPReloads sends SIGHUP to the process: the server under test
// catches it, keeps running and puts the file's new log level in force.
func TestSIGHUPReloads(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startReloadServer(t, "log:\n  level: info\n")
	defer func() { require.NoError(t, d.stop()) }()
	require.Equal(t, slog.LevelInfo, d.level.Level())

	d.rewrite(t, "log:\n  level: debug\n")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	for deadline := time.Now().Add(time.Minute); d.level.Level() != slog.LevelDebug; time.Sleep(10 * time.Millisecond) {
		require.False(t, time.Now().After(deadline), "SIGHUP did not reload the log level")
	}
	require.Equal(t, http.StatusOK, get(t, d.testServer, "/-/ready").code, "still serving after SIGHUP")
	require.Contains(t, d.logs.String(), "configuration reloaded")
	require.Contains(t, get(t, d.testServer, "/metrics").body, "\ngorilla_config_last_reload_successful 1\n")
}

// TestLifecycleDisabled: without --web.enable-lifecycle, /-/reload and
// /-/quit answer 403 as Prometheus does, and nothing is reloaded.
func TestLifecycleDisabled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startReloadServer(t, "log:\n  level: info\n")
	defer func() { require.NoError(t, d.stop()) }()
	d.rewrite(t, "log:\n  level: debug\n")
	for _, path := range []string{"/-/reload", "/-/quit"} {
		a := post(t, d.testServer, path)
		require.Equal(t, http.StatusForbidden, a.code, path)
		require.Equal(t, "Lifecycle API is not enabled.\n", a.body, path)
		a = get(t, d.testServer, path)
		require.Equal(t, http.StatusMethodNotAllowed, a.code, path)
	}
	require.Equal(t, slog.LevelInfo, d.level.Level())
	require.Equal(t, http.StatusOK, get(t, d.testServer, "/-/ready").code)
}

// TestReloadEndpoint: with --web.enable-lifecycle a good file is put in
// force (200); a bad one is refused with the reason (500), the
// configuration in force is kept and the metrics say so, until a good
// file comes back.
func TestReloadEndpoint(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startReloadServer(t, "log:\n  level: info\n", "--web.enable-lifecycle")
	defer func() { require.NoError(t, d.stop()) }()
	metrics := func() string { return get(t, d.testServer, "/metrics").body }
	require.Contains(t, metrics(), "\ngorilla_config_last_reload_successful 1\n")

	d.rewrite(t, "log:\n  level: warn\n")
	a := post(t, d.testServer, "/-/reload")
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.Equal(t, slog.LevelWarn, d.level.Level())
	require.Contains(t, get(t, d.testServer, "/api/v1/status/config").body, `log:\n  format: logfmt\n  level: warn\n`)

	for _, bad := range []struct{ file, reason string }{
		{"log:\n  level: verbose\n", "config key log.level"},
		{"log:\n  level: debug\n  colour: red\n", `unknown config key "log.colour"`},
		{"log: [\n", "parse config file"},
		{"log:\n  level: debug\nquery:\n  max_concurrency: 0\n", "query.max_concurrency"},
	} {
		d.rewrite(t, bad.file)
		a := post(t, d.testServer, "/-/reload")
		require.Equal(t, http.StatusInternalServerError, a.code, bad.file)
		require.Contains(t, a.body, "failed to reload config: config file: ", bad.file)
		require.Contains(t, a.body, bad.reason, bad.file)
		require.Equal(t, slog.LevelWarn, d.level.Level(), "the level in force is kept")
		require.Contains(t, metrics(), "\ngorilla_config_last_reload_successful 0\n")
		require.Contains(t, d.logs.String(), "reload failed")
	}
	require.Contains(t, get(t, d.testServer, "/api/v1/status/config").body, `level: warn\n`)
	require.Contains(t, get(t, d.testServer, "/api/v1/status/runtimeinfo").body, `"reloadConfigSuccess":false`)

	before := time.Now()
	d.rewrite(t, "log:\n  level: debug\nstorage:\n  retention: 30d\n")
	a = post(t, d.testServer, "/-/reload")
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.Equal(t, slog.LevelDebug, d.level.Level())
	m := metrics()
	require.Contains(t, m, "\ngorilla_config_last_reload_successful 1\n")
	require.Contains(t, d.logs.String(), "take effect only at the next restart")
	require.Contains(t, d.logs.String(), "keys=storage.retention")
	var ts float64
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, "gorilla_config_last_reload_success_timestamp_seconds "); ok {
			require.NoError(t, json.Unmarshal([]byte(v), &ts))
		}
	}
	require.GreaterOrEqual(t, ts, float64(before.Unix()), "the timestamp of the last success moved")
	require.Contains(t, get(t, d.testServer, "/api/v1/status/runtimeinfo").body, `"reloadConfigSuccess":true`)
}

// TestQuitEndpoint: POST /-/quit ends the server cleanly.
func TestQuitEndpoint(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startReloadServer(t, "log:\n  level: info\n", "--web.enable-lifecycle")
	a := post(t, d.testServer, "/-/quit")
	require.Equal(t, http.StatusOK, a.code)
	require.Equal(t, "Requesting termination... Goodbye!", a.body)
	<-d.rs.done
	require.NoError(t, d.rs.err)
	require.Contains(t, d.logs.String(), "storage closed")
	d.client.CloseIdleConnections()
}

// TestWatch drives the lifecycle actor through its channels: each signal
// reloads, quit ends it with errQuit, stop with nil.
func TestWatch(t *testing.T) {
	r := newReloader(slog.New(slog.DiscardHandler), time.Now)
	reloads := make(chan struct{}, 2)
	r.add("test", func() error { reloads <- struct{}{}; return nil })
	hup := make(chan os.Signal, 1)
	quit, stop := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- r.watch(hup, quit, stop) }()
	hup <- syscall.SIGHUP
	<-reloads
	hup <- syscall.SIGHUP
	<-reloads
	close(quit)
	require.ErrorIs(t, <-done, errQuit)

	go func() { done <- r.watch(hup, make(chan struct{}), stop) }()
	close(stop)
	require.NoError(t, <-done)
}

// TestReloadLimitsFile: /-/reload re-reads the limits file; a broken one
// fails the reload naming it and keeps the limits in force, a fixed one
// puts its limits in force.
func TestReloadLimitsFile(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	limitsFile := filepath.Join(t.TempDir(), "limits.yml")
	require.NoError(t, os.WriteFile(limitsFile, []byte("defaults:\n  max_series: 1\n"), 0o600))
	d := startReloadServer(t, "log:\n  level: info\n", "--web.enable-lifecycle", "--limits.config-file="+limitsFile)
	defer func() { require.NoError(t, d.stop()) }()
	write := func(name string) int {
		t.Helper()
		return writeSeries(t, d.testServer, time.Now().UnixMilli(), name).code
	}
	require.Equal(t, http.StatusNoContent, write("first"))
	require.Equal(t, http.StatusBadRequest, write("second"), "one series is the limit")

	require.NoError(t, os.WriteFile(limitsFile, []byte("defaults:\n  max_series: [\n"), 0o600))
	a := post(t, d.testServer, "/-/reload")
	require.Equal(t, http.StatusInternalServerError, a.code, a.body)
	require.Contains(t, a.body, "limits file")
	require.Equal(t, http.StatusBadRequest, write("second"), "a broken file keeps the limits in force")

	require.NoError(t, os.WriteFile(limitsFile, []byte("defaults:\n  max_series: 10\n"), 0o600))
	a = post(t, d.testServer, "/-/reload")
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.Equal(t, http.StatusNoContent, write("second"), "the new limit is in force")
}
