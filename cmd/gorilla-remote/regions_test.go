package main

import (
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/internal/tlstest"
)

func TestRegionsConfig(t *testing.T) {
	dir := t.TempDir()
	_, err := tlstest.Write(dir) // ca.crt
	require.NoError(t, err)
	path := filepath.Join(dir, "gorilla.yml")
	require.NoError(t, os.WriteFile(path, []byte(`
replication:
  region: eu-west
  regions:
    - name: us-east
      url: https://us.example:9201/api/v1/write
      basic_auth: {username: eu, password_file: secrets/pass}
      tls_config: {ca_file: ca.crt}
      max_lag: 30m
      max_queue_bytes: 1GiB
    - name: ap-south
      url: http://ap.example:9201/api/v1/write
      concurrency: 2
      min_backoff: 50ms
      max_backoff: 5s
storage:
  path: /tmp/x
`), 0o666))
	s, err := resolveArgs([]string{"--config.file", path})
	require.NoError(t, err)
	require.Equal(t, "eu-west", s.Region)
	require.Len(t, s.Regions, 2)
	require.Equal(t, filepath.Join(dir, "secrets/pass"), s.Regions[0].BasicAuth.PasswordFile, "paths are relative to the config file")
	require.Equal(t, filepath.Join(dir, "ca.crt"), s.Regions[0].TLSConfig.CAFile)
	require.Equal(t, "/tmp/x", s.StoragePath, "the other keys still apply")

	ros, err := regionOptions(s)
	require.NoError(t, err)
	require.Equal(t, 30*time.Minute, ros[0].MaxLag)
	require.Equal(t, int64(1<<30), ros[0].MaxQueueBytes)
	require.Equal(t, defaultMaxLag, ros[1].MaxLag, "the defaults bound a region without bounds")
	require.Equal(t, int64(defaultMaxQueueBytes), ros[1].MaxQueueBytes)
	require.NotNil(t, ros[0].Client)
	require.Equal(t, 2, ros[1].Concurrency)
	require.Equal(t, 50*time.Millisecond, ros[1].MinBackoff)
	require.Equal(t, 5*time.Second, ros[1].MaxBackoff)
	require.Zero(t, ros[0].Concurrency, "unset: the forwarder's default")

	// The flag wins over the file.
	s, err = resolveArgs([]string{"--config.file", path, "--replication.region", "eu-central"})
	require.NoError(t, err)
	require.Equal(t, "eu-central", s.Region)
}

func TestRegionsConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"unknown key":  {"replication:\n  region: a\n  regions:\n    - {name: b, url: http://b, colour: red}\n", "colour"},
		"bad duration": {"replication:\n  region: a\n  regions:\n    - {name: b, url: http://b, max_lag: soon}\n", "max_lag"},
		"bad backoff":  {"replication:\n  region: a\n  regions:\n    - {name: b, url: http://b, max_backoff: 0s}\n", "max_backoff"},
		"bad size":     {"replication:\n  region: a\n  regions:\n    - {name: b, url: http://b, max_queue_bytes: lots}\n", "max_queue_bytes"},
		"no region":    {"replication:\n  regions:\n    - {name: b, url: http://b}\n", "replication.region"},
		"not a list":   {"replication:\n  regions: b\n", "replication.regions"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gorilla.yml")
			require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o666))
			s, err := resolveArgs([]string{"--config.file", path})
			if err == nil {
				_, err = regionOptions(s)
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestRegionsServe runs two servers, a forwarding to b: a write to a
// reaches b, a write b received from a is not sent back, and a's status
// endpoint and metrics show the region.
func TestRegionsServe(t *testing.T) {
	sb, err := defaultSettings()
	require.NoError(t, err)
	sb.StoragePath, sb.ListenAddress = t.TempDir(), freeAddr(t)
	b, err := startTestServer(newServer(sb, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	defer func() { require.NoError(t, b.stop()) }()

	sa, err := defaultSettings()
	require.NoError(t, err)
	sa.StoragePath, sa.ListenAddress = t.TempDir(), freeAddr(t)
	sa.Region = "eu-west"
	sa.Regions = []regionConfig{{Name: "us-east", URL: b.url + "/api/v1/write"}}
	a, err := startTestServer(newServer(sa, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	defer func() { require.NoError(t, a.stop()) }()

	now := time.Now().UnixMilli()
	require.Equal(t, http.StatusNoContent, writeSample(t, a, now).code)
	at := strconv.FormatFloat(float64(now)/1000, 'f', 3, 64)
	deadline := time.Now().Add(time.Minute)
	for {
		ans := postForm(t, b, "/api/v1/query", url.Values{"query": {"disk_test"}, "time": {at}})
		if strings.Contains(ans.body, `"value":[`) {
			break
		}
		require.False(t, time.Now().After(deadline), "the sample never reached the other region: %s", ans.body)
		time.Sleep(20 * time.Millisecond)
	}
	st := get(t, a, "/api/v1/status/replication")
	require.Equal(t, http.StatusOK, st.code)
	require.Contains(t, st.body, `"name":"us-east"`)
	require.Contains(t, st.body, `"sent":1`)
	require.JSONEq(t, `{"status":"success","data":[]}`, get(t, b, "/api/v1/status/replication").body)
	m := get(t, a, "/metrics")
	require.Contains(t, m.body, `gorilla_replication_region_sent_samples_total{region="us-east"} 1`)
	_, err = os.Stat(filepath.Join(sa.StoragePath, "replication", "us-east"))
	require.NoError(t, err, "the queue lives under <storage.path>/replication/<region>")
}

// FuzzRegionsConfig: any config file holding a replication section is
// refused or turned into regions, never a panic.
func FuzzRegionsConfig(f *testing.F) {
	for _, seed := range []string{
		"replication:\n  region: a\n  regions:\n    - {name: b, url: 'http://b', max_lag: 1h, basic_auth: {username: u}}\n",
		"replication:\n  regions: []\n", "replication:\n  regions:\n    - 1\n", "replication:\n  regions:\n    - {name: [x]}\n",
		"replication:\n  region: a\n  regions:\n    - {name: b, url: 'http://b', concurrency: -1, max_backoff: 1s}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		app := kingpin.New("fuzz", "")
		c := newServeCommand(app)
		if _, err := app.Parse([]string{"serve"}); err != nil {
			t.Fatal(err)
		}
		c.flags.configFile = "fuzz.yml"
		c.flags.fromFile = map[string]bool{}
		if err := c.flags.applyConfig(raw); err != nil {
			return
		}
		ros, err := regionOptions(c.flags.s)
		if err == nil && len(ros) != len(c.flags.s.Regions) {
			t.Fatalf("%d regions configured, %d built", len(c.flags.s.Regions), len(ros))
		}
	})
}
