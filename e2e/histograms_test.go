//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPrometheus316NativeHistograms has Prometheus 3.16 scrape its own
// /metrics over the protobuf scrape protocol, which carries native
// histograms (prometheus_http_request_duration_seconds among them), and
// remote-write everything, histograms included, into gorilla-remote over
// remote write 2.0. The histogram functions of PromQL asked of both over
// the same window must agree.
func TestPrometheus316NativeHistograms(t *testing.T) {
	prom := lookPrometheus316(t)
	bin := buildServer(t)
	c := newHTTPClient(t)
	grPort, pPort := freePort(t), freePort(t)
	gr := startGorilla(t, c, bin, grPort, t.TempDir())
	defer gr.kill()
	us := promAPI{base: fmt.Sprintf("http://127.0.0.1:%d", grPort), c: c}

	p := startPrometheus(t, c, prom, "prometheus-3.16", pPort, fmt.Sprintf(nativeHistogramConfig, pPort, grPort))
	ready := time.Now()
	// Queries on Prometheus's API make the request duration histogram move.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if resp, err := c.Get(p.base + "/api/v1/query?query=up"); err == nil {
					resp.Body.Close()
				}
			}
		}
	}()
	require.NoError(t, poll(30*time.Second, 250*time.Millisecond, func() bool {
		n, _ := metricSum(t, c, us.base+"/metrics", "gorilla_remote_write_samples_ingested_total", "")
		return n > 0
	}), "gorilla-remote received nothing from Prometheus 3.16")

	t0 := (ready.Add(windowStart).UnixMilli()/1000 + 1) * 1000
	t1 := t0 + windowLength.Milliseconds()
	time.Sleep(time.Until(time.UnixMilli(t1 + sentMargin.Milliseconds())))
	waitSent(t, c, p.base, t1+sentMargin.Milliseconds())

	const h = `prometheus_http_request_duration_seconds{handler="/api/v1/query"}`
	for _, q := range []string{
		"histogram_count(" + h + ")",
		"histogram_sum(" + h + ")",
		"histogram_count(rate(" + h + "[5s]))",
		"histogram_sum(increase(" + h + "[5s]))",
		"histogram_quantile(0.9, rate(" + h + "[5s]))",
		"histogram_fraction(0, 0.001, rate(" + h + "[5s]))",
		"histogram_avg(rate(" + h + "[5s]))",
		"histogram_stddev(rate(" + h + "[5s]))",
		"histogram_count(sum by (job) (rate(prometheus_http_request_duration_seconds[5s])))",
	} {
		want := p.queryRange(t, q, t0, t1, time.Second)
		got := us.queryRange(t, q, t0, t1, time.Second)
		require.NotEmpty(t, want, "Prometheus 3.16: %s", q)
		compareAPI(t, q, want, got, false)
	}
}

// nativeHistogramConfig: Prometheus's own port, gorilla-remote's port.
const nativeHistogramConfig = `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  scrape_native_histograms: true
scrape_configs:
  - job_name: prometheus
    scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0, PrometheusText0.0.4]
    static_configs:
      - targets: ['127.0.0.1:%d']
remote_write:
  - url: http://127.0.0.1:%d/api/v1/write
    name: gorilla
    protobuf_message: io.prometheus.write.v2.Request
    send_native_histograms: true
    queue_config:
      min_shards: 1
      max_shards: 1
      capacity: 10000
      max_samples_per_send: 2000
      batch_send_deadline: 200ms
      min_backoff: 50ms
      max_backoff: 500ms
`

// lookPrometheus316 finds Prometheus 3.16's binary: $PROMETHEUS_316_BIN
// (a directory), else <GOPATH>/prometheus-3.16/bin, where make e2e-deps
// installs it apart from Debian's 2.42 on PATH.
func lookPrometheus316(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PROMETHEUS_316_BIN")
	if dir == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		require.NoError(t, err)
		dir = filepath.Join(strings.TrimSpace(string(out)), "prometheus-3.16", "bin")
	}
	path := filepath.Join(dir, "prometheus")
	if _, err := os.Stat(path); err != nil {
		requireOrSkip(t, "Prometheus 3.16 is not in %s (make e2e-deps): %v", dir, err)
	}
	return path
}
