package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/promql"
)

func TestBuildInfoFromVCS(t *testing.T) {
	base := buildInfo{Version: "1.2.3", Branch: "main", Revision: unknown, BuildDate: unknown, GoVersion: "go1.26.8"}
	for _, tc := range []struct {
		name     string
		settings []debug.BuildSetting
		rev      string
		date     string
	}{
		{"no VCS info (go run, go test)", nil, unknown, unknown},
		{"clean tree", []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}, "abc123", "2026-12-01T10:00:00Z"},
		{"changed tree", []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}, "abc123-dirty", "2026-12-01T10:00:00Z"},
	} {
		got := withVCS(base, tc.settings)
		require.Equal(t, tc.rev, got.Revision, tc.name)
		require.Equal(t, tc.date, got.BuildDate, tc.name)
		require.Equal(t, "main", got.Branch, tc.name)
	}
}

func TestBranchDefaultsToUnknown(t *testing.T) {
	require.Equal(t, unknown, readBuildInfo().Branch, "no -ldflags -X main.branch in tests")
}

func TestVersionString(t *testing.T) {
	bi := buildInfo{Version: "1.2.3", Branch: "main", Revision: "abc123", BuildDate: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"}
	v := versionString(bi)
	for _, want := range []string{"version 1.2.3", "branch: main", "revision: abc123", "build date:  2026-12-01T10:00:00Z", "go version:  go1.26.8"} {
		if !strings.Contains(v, want) {
			t.Fatalf("--version lacks %q:\n%s", want, v)
		}
	}
	api := bi.api()
	require.Equal(t, "abc123", api.Revision)
	require.Equal(t, "main", api.Branch)
	require.Equal(t, "2026-12-01T10:00:00Z", api.BuildDate)
	require.Equal(t, "go1.26.8", api.GoVersion)
}

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	bi := buildInfo{Version: "1.2.3", Branch: "main", Revision: "abc123", BuildDate: "x", GoVersion: "go1.26.8"}
	require.NoError(t, registerBuildInfo(reg, bi))
	want := `
# HELP gorilla_build_info A metric with a constant '1' value labeled by version, revision, branch, and goversion from which gorilla-remote was built.
# TYPE gorilla_build_info gauge
gorilla_build_info{branch="main",goversion="go1.26.8",revision="abc123",version="1.2.3"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "gorilla_build_info"))
}

// TestServerReportsBuildInfo checks that a running server carries the same
// build info on /metrics and on /api/v1/status/buildinfo.
func TestServerReportsBuildInfo(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath, s.ListenAddress = t.TempDir(), freeAddr(t)
	srv := newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	srv.build = buildInfo{Version: "1.2.3", Branch: "release-1.2", Revision: "abc123", BuildDate: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"}
	d, err := startTestServer(srv)
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()

	metrics := get(t, d, "/metrics").body
	require.Contains(t, metrics, `gorilla_build_info{branch="release-1.2",goversion="go1.26.8",revision="abc123",version="1.2.3"} 1`)
	var env struct {
		Status string           `json:"status"`
		Data   promql.BuildInfo `json:"data"`
	}
	a := get(t, d, "/api/v1/status/buildinfo")
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.NoError(t, json.Unmarshal([]byte(a.body), &env))
	require.Equal(t, srv.build.api(), env.Data)
}
