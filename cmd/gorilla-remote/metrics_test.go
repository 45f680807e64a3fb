package main

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMetricNamesShareOnePrefix runs the server and checks every metric it
// registers: each is named gorilla_*, but for the Go and process
// collectors' standard go_* and process_*.
func TestMetricNamesShareOnePrefix(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	reg := prometheus.NewRegistry()
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), reg))
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()
	// One query, so that the engine's vectors have a child to gather.
	require.Equal(t, http.StatusOK, get(t, d, "/api/v1/query?query=1").code)

	mfs, err := reg.Gather()
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		seen[strings.SplitN(name, "_", 3)[1]] = true
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		require.True(t, strings.HasPrefix(name, "gorilla_"), "metric %s lacks the gorilla_ prefix", name)
	}
	// The head, the WAL, the remote-write handler and the engine all
	// registered on the command's registry.
	for _, part := range []string{"head", "wal", "remote", "prometheus"} {
		require.True(t, seen[part], "no gorilla_%s_* metric registered", part)
	}
}
