package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// statusData decodes the data of a success envelope into v.
func statusData(t *testing.T, a answer, v any) {
	t.Helper()
	require.Equal(t, http.StatusOK, a.code, a.body)
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &env))
	require.Equal(t, "success", env.Status)
	require.NoError(t, json.Unmarshal(env.Data, v))
}

// TestServerStatusEndpoints checks what the running server shows: every
// serve flag, the effective configuration, the runtime and the WAL replay.
func TestServerStatusEndpoints(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startReloadServer(t, "log:\n  level: warn\nstorage:\n  retention: 90d\n", "--web.enable-lifecycle")
	defer func() { require.NoError(t, d.stop()) }()

	var flags map[string]string
	statusData(t, get(t, d.testServer, "/api/v1/status/flags"), &flags)
	app, _ := newApp()
	for _, c := range app.Model().Commands {
		if c.Name != "serve" {
			continue
		}
		for _, f := range c.Flags {
			require.Contains(t, flags, f.Name, "every serve flag is shown")
		}
		require.Len(t, flags, len(c.Flags), "and nothing else")
	}
	require.Equal(t, "warn", flags["log.level"])
	require.Equal(t, "true", flags["web.enable-lifecycle"])
	require.Equal(t, d.file, flags["config.file"])

	var cfg struct{ YAML string }
	statusData(t, get(t, d.testServer, "/api/v1/status/config"), &cfg)
	require.Contains(t, cfg.YAML, "log:\n  format: logfmt\n  level: warn\n")
	require.Contains(t, cfg.YAML, "  enable_lifecycle: true\n")
	require.Contains(t, cfg.YAML, "  max_connections: 512\n")

	var rt map[string]any
	statusData(t, get(t, d.testServer, "/api/v1/status/runtimeinfo"), &rt)
	require.Equal(t, "1d2h in memory, blocks 90d", rt["storageRetention"])
	require.Equal(t, true, rt["reloadConfigSuccess"])
	require.NotEmpty(t, rt["startTime"])

	var wr struct{ Min, Max, Current int }
	statusData(t, get(t, d.testServer, "/api/v1/status/walreplay"), &wr)
	require.GreaterOrEqual(t, wr.Min, 0)
	require.Equal(t, wr.Max, wr.Current, "the replay is done")
	require.LessOrEqual(t, wr.Min, wr.Max)
}

// TestConfigYAMLRoundTrips: the configuration /api/v1/status/config shows,
// used as the config file, gives the same settings.
func TestConfigYAMLRoundTrips(t *testing.T) {
	s, err := resolveArgs([]string{"serve", "--log.level=debug", "--storage.retention=30d", "--no-block.rollups",
		"--block.cache-size=512MiB", "--web.enable-lifecycle"})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "effective.yml")
	require.NoError(t, os.WriteFile(path, []byte(configYAML(s)), 0o600))
	got, err := resolveArgs([]string{"serve", "--config.file=" + path})
	require.NoError(t, err, configYAML(s))
	got.ConfigFile = ""
	require.Equal(t, s, got)
}

// TestQueryAPIGzip: the query API compresses its answers for a client
// that accepts gzip.
func TestQueryAPIGzip(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := startReloadServer(t, "log:\n  level: info\n")
	defer func() { require.NoError(t, d.stop()) }()
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, d.url+"/api/v1/query?query=1%2B1&time=4", nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(resp.Body)
	require.NoError(t, err)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}`, string(body))

	a := get(t, d.testServer, "/api/v1/status/buildinfo") // Go's client asks for gzip and decompresses
	require.Equal(t, http.StatusOK, a.code)
	require.Contains(t, a.body, `"status":"success"`)
}
