package main

import (
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// writeSeries posts one sample at ts for each metric name.
func writeSeries(t *testing.T, d *testServer, ts int64, names ...string) answer {
	t.Helper()
	var wr prompb.WriteRequest
	for i, n := range names {
		wr.Timeseries = append(wr.Timeseries, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: n}},
			Samples: []prompb.Sample{{Timestamp: ts, Value: float64(i + 1)}},
		})
	}
	return postWrite(t, d, &wr)
}

// TestMemoryLimitRefusesNewSeriesOnly restarts a server over stored data
// with a memory limit it is always above (1 byte): a spike of new series is
// refused with 503 and Retry-After, the series it already held keep taking
// samples, /-/ready stays 200, and what was stored is intact.
func TestMemoryLimitRefusesNewSeriesOnly(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	now := time.Now().UnixMilli()

	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, writeSeries(t, d, now, "kept_a", "kept_b").code)
	require.NoError(t, d.stop())

	require.NoError(t, s.MemoryLimit.Set("1"))
	d, err = startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	spike := []string{"kept_a", "kept_b"}
	for i := range 50 {
		spike = append(spike, "spike_"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	a := writeSeries(t, d, now+1000, spike...)
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	require.NotEmpty(t, a.retryAfter)
	require.Contains(t, a.body, "memory limit reached")
	require.Equal(t, http.StatusOK, get(t, d, "/-/ready").code, "the server stays ready")
	require.Equal(t, http.StatusNoContent, writeSeries(t, d, now+2000, "kept_a").code, "existing series still ingest")
	metrics := get(t, d, "/metrics").body
	require.Contains(t, metrics, `gorilla_remote_write_samples_rejected_total{reason="memory_limit",tenant="anonymous"} 50`)
	require.Contains(t, metrics, "\ngorilla_limits_memory_limit_bytes 1\n")
	require.Contains(t, metrics, `gorilla_limits_active_series{tenant="anonymous"} 2`)
	require.NoError(t, d.stop())

	h, err := head.Open(head.Options{Dir: s.StoragePath, MaintenanceInterval: -1, Stripes: 16})
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	got, err := h.Range(labels.FromStrings("__name__", "kept_a"), math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Equal(t, []model.Sample{{T: now, V: 1}, {T: now + 1000, V: 1}, {T: now + 2000, V: 1}}, got)
	got, err = h.Range(labels.FromStrings("__name__", "kept_b"), math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Equal(t, []model.Sample{{T: now, V: 2}, {T: now + 1000, V: 2}}, got)
	require.Equal(t, 2, h.Stats().Series, "no spike series was created")
}

func TestMemoryLimitValue(t *testing.T) {
	var m memoryLimit
	require.NoError(t, m.Set("80%"))
	require.Equal(t, uint64(800), m.resolve(1000))
	require.Equal(t, "80%", m.String())
	require.NoError(t, m.Set("1GiB"))
	require.Equal(t, uint64(1<<30), m.resolve(1000))
	require.NoError(t, m.Set("0"))
	require.Zero(t, m.resolve(1000), "0 disables the guard")
	for _, bad := range []string{"0%", "101%", "x%", "-1", "lots"} {
		require.Error(t, m.Set(bad), bad)
	}
}

// TestLimitsFlagsAndReload: the flags are the defaults, the file overrides
// them, a bad file refuses the start, and a bad reload keeps the limits.
func TestLimitsFlagsAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.yml")
	require.NoError(t, os.WriteFile(path, []byte("overrides:\n  anonymous:\n    max_series: 7\n"), 0o600))
	s, err := parseSettings(t, "", "--limits.max-series-per-metric=3", "--limits.config-file="+path)
	require.NoError(t, err)
	lim, err := newLimits(s, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	got := lim.overrides.For(limits.Anonymous)
	require.Equal(t, 7, got.MaxSeries)
	require.Equal(t, 3, got.MaxSeriesPerMetric)
	require.Equal(t, limits.DefaultMaxLabelValueLength, got.MaxLabelValueLength)

	srv := newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	srv.limits.Store(lim)
	require.NoError(t, os.WriteFile(path, []byte("overrides:\n  anonymous:\n    max_series: -7\n"), 0o600))
	require.Error(t, srv.reloadLimits())
	require.Equal(t, 7, lim.overrides.For(limits.Anonymous).MaxSeries)
	_, err = newLimits(s, slog.New(slog.DiscardHandler), nil)
	require.Error(t, err, "a bad file refuses the start")

	_, err = parseSettingsErr(t, "", "--limits.max-series=-1")
	require.ErrorContains(t, err, "--limits.max-series=-1: must be a finite number, not negative")
	_, err = parseSettingsErr(t, "", "--limits.ingestion-rate=NaN")
	require.ErrorContains(t, err, "--limits.ingestion-rate=NaN")
}
