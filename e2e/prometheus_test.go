//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Lengths of the Prometheus test. The compared window [t0, t1] starts a
// few seconds after Prometheus #1 became ready, so that the first scrapes
// (which both sides may see differently while remote write starts) stay
// out of every query.
const (
	windowStart  = 8 * time.Second  // from Prometheus #1 ready to t0
	windowLength = 20 * time.Second // t1 - t0
	sentMargin   = 2 * time.Second  // how far past t1 the sender must have sent
)

// TestPrometheusRoundTrip runs the binary between two Prometheus servers:
// #1 scrapes node_exporter and itself every second and remote-writes to
// gorilla-remote; #2 has no data of its own and remote-reads from it. Over a
// fixed window both must answer the same series and the same samples, raw
// and through PromQL, also after gorilla-remote was killed with SIGKILL and
// restarted from its WAL.
func TestPrometheusRoundTrip(t *testing.T) {
	promBin := lookBinary(t, "prometheus")
	nodeBin := lookBinary(t, "prometheus-node-exporter")
	bin := buildServer(t)
	c := newHTTPClient(t)

	grPort, nodePort, p1Port, p2Port := freePort(t), freePort(t), freePort(t), freePort(t)
	grURL := fmt.Sprintf("http://127.0.0.1:%d", grPort)
	storage := t.TempDir()
	gr := startGorilla(t, c, bin, grPort, storage)

	node := startProcess(t, "node_exporter", nodeBin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", nodePort),
		"--collector.disable-defaults", "--collector.cpu", "--collector.loadavg", "--collector.meminfo",
		"--collector.stat", "--collector.netdev", "--collector.time", "--collector.uname", "--collector.vmstat")
	node.waitOK(t, c, fmt.Sprintf("http://127.0.0.1:%d/metrics", nodePort), 15*time.Second)

	p1 := startPrometheus(t, c, promBin, "prometheus-1", p1Port, fmt.Sprintf(writerConfig, nodePort, p1Port, grPort))
	ready := time.Now()
	require.NoError(t, poll(20*time.Second, 200*time.Millisecond, func() bool {
		n, _ := metricSum(t, c, grURL+"/metrics", "gorilla_head_samples_appended_total", "")
		return n > 0
	}), "gorilla-remote received no sample from Prometheus #1")

	t0 := (ready.Add(windowStart).UnixMilli()/1000 + 1) * 1000
	t1 := t0 + windowLength.Milliseconds()
	time.Sleep(time.Until(time.UnixMilli(t1 + sentMargin.Milliseconds())))
	waitSent(t, c, p1.base, t1+sentMargin.Milliseconds())

	p2 := startPrometheus(t, c, promBin, "prometheus-2", p2Port, fmt.Sprintf(readerConfig, grPort))

	t.Run("raw samples", func(t *testing.T) {
		for _, name := range []string{"up", "node_load1", "prometheus_http_requests_total", "node_cpu_seconds_total"} {
			compareRaw(t, p1, p2, name, t1)
		}
	})
	t.Run("range queries", func(t *testing.T) {
		for _, q := range []string{
			"rate(node_cpu_seconds_total[5s])",
			"sum by (mode)(node_cpu_seconds_total)",
			"sum by (job)(rate(prometheus_http_requests_total[5s]))",
			"max_over_time(node_load1[5s])",
		} {
			want := p1.queryRange(t, q, t0, t1, time.Second)
			got := p2.queryRange(t, q, t0, t1, time.Second)
			require.NotEmpty(t, want, "Prometheus #1: %s", q)
			compareAPI(t, q, want, got, false)
		}
	})

	t.Run("promtool", func(t *testing.T) {
		comparePromtool(t, c, lookBinary(t, "promtool"), p1.base, grURL, t0, t1)
	})

	readURL := grURL + "/api/v1/read"
	t.Run("remote read", func(t *testing.T) { compareOwnReads(t, c, readURL, p1, t0, t1) })
	logReadTypes(t, c, grURL)

	all := &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: labels.MetricName, Value: ".+"}
	before := remoteRead(t, c, readURL, prompb.ReadRequest_SAMPLES, t0, t1, all)
	require.NotEmpty(t, before)
	gr.kill()
	gr = startGorilla(t, c, bin, grPort, storage)
	t.Run("restart after SIGKILL", func(t *testing.T) {
		after := remoteRead(t, c, readURL, prompb.ReadRequest_SAMPLES, t0, t1, all)
		requireSameSeries(t, before, after, "SAMPLES read after restart")
		compareRaw(t, p1, p2, "up", t1)
		compareRaw(t, p1, p2, "node_cpu_seconds_total", t1)
	})

	code, err := gr.stop(syscall.SIGTERM, 10*time.Second)
	require.NoError(t, err, "stop gorilla-remote with SIGTERM")
	require.Zero(t, code, "exit code of gorilla-remote after SIGTERM")
}

// writerConfig is Prometheus #1's configuration: node_exporter's port,
// its own port, gorilla-remote's port. One shard sends in WAL order, so the
// highest timestamp it sent bounds everything sent before.
const writerConfig = `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:%d']
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:%d']
remote_write:
  - url: http://127.0.0.1:%d/api/v1/write
    name: gorilla
    queue_config:
      min_shards: 1
      max_shards: 1
      capacity: 10000
      max_samples_per_send: 2000
      batch_send_deadline: 200ms
      min_backoff: 50ms
      max_backoff: 500ms
`

// readerConfig is Prometheus #2's configuration: gorilla-remote's port.
const readerConfig = `
global:
  evaluation_interval: 1m
remote_read:
  - url: http://127.0.0.1:%d/api/v1/read
    name: gorilla
    read_recent: true
`

// lookBinary finds an external program; see requireOrSkip.
func lookBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		requireOrSkip(t, "%s is not installed (apt-get install prometheus prometheus-node-exporter): %v", name, err)
	}
	return path
}

// startGorilla starts the binary and waits until it is ready.
func startGorilla(t *testing.T, c *http.Client, bin string, port int, dir string) *process {
	t.Helper()
	p := startProcess(t, "gorilla-remote", bin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--storage.path="+dir)
	p.waitOK(t, c, fmt.Sprintf("http://127.0.0.1:%d/-/ready", port), 30*time.Second)
	return p
}

// startPrometheus starts a Prometheus with the configuration cfg and waits
// until it is ready.
func startPrometheus(t *testing.T, c *http.Client, bin, name string, port int, cfg string) promAPI {
	t.Helper()
	p := startProcess(t, name, bin, "--config.file="+writeFile(t, "prometheus.yml", cfg),
		"--storage.tsdb.path="+t.TempDir(), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p.waitOK(t, c, base+"/-/ready", 30*time.Second)
	return promAPI{base: base, c: c}
}

// waitSent waits until Prometheus #1 has sent every sample up to ts
// (milliseconds): its one shard's highest sent timestamp has reached it.
func waitSent(t *testing.T, c *http.Client, base string, ts int64) {
	t.Helper()
	const name = "prometheus_remote_storage_queue_highest_sent_timestamp_seconds"
	var sent float64
	err := poll(20*time.Second, 100*time.Millisecond, func() bool {
		var ok bool
		sent, ok = metricSum(t, c, base+"/metrics", name, "")
		require.True(t, ok, "Prometheus #1 exposes no %s", name)
		return sent*1000 >= float64(ts)
	})
	pending, _ := metricSum(t, c, base+"/metrics", "prometheus_remote_storage_samples_pending", "")
	require.NoError(t, err, "Prometheus #1 sent up to %.0fs, want %ds (%v samples pending)", sent, ts/1000, pending)
}

// compareOwnReads reads the window [t0, t1] from gorilla-remote itself:
// `up` as samples against Prometheus #1's raw samples, and everything, as
// samples and as chunks, against each other and against everything
// Prometheus #1 holds in the window.
func compareOwnReads(t *testing.T, c *http.Client, readURL string, p1 promAPI, t0, t1 int64) {
	t.Helper()
	all := &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: labels.MetricName, Value: ".+"}
	up := &prompb.LabelMatcher{Type: prompb.LabelMatcher_EQ, Name: labels.MetricName, Value: "up"}

	got := remoteRead(t, c, readURL, prompb.ReadRequest_SAMPLES, t0, t1, up)
	want := rawWindow(t, p1, "up", t0, t1)
	require.Len(t, want, 2, "up series of Prometheus #1 (node and prometheus)")
	requireSameSeries(t, want, got, "SAMPLES read of up")

	samples := remoteRead(t, c, readURL, prompb.ReadRequest_SAMPLES, t0, t1, all)
	chunks := remoteRead(t, c, readURL, prompb.ReadRequest_STREAMED_XOR_CHUNKS, t0, t1, all)
	requireSameSeries(t, samples, chunks, "STREAMED_XOR_CHUNKS read against SAMPLES read")
	requireSameSeries(t, rawWindow(t, p1, `{__name__=~".+"}`, t0, t1), withoutStale(t, samples),
		"SAMPLES read of everything against Prometheus #1")
	t.Logf("window [%d, %d]: %d series, %d samples", t0, t1, len(samples), samples.samples())
}

// compareRaw compares the raw samples of name over [t1-windowLength, t1]
// as both servers answer them, exactly.
func compareRaw(t *testing.T, p1, p2 promAPI, name string, t1 int64) {
	t.Helper()
	q := fmt.Sprintf("%s[%ds]", name, int(windowLength.Seconds()))
	typ1, want := p1.query(t, q, t1)
	typ2, got := p2.query(t, q, t1)
	require.Equal(t, "matrix", typ1, q)
	require.Equal(t, "matrix", typ2, q)
	require.NotEmpty(t, want, "Prometheus #1: %s", q)
	compareAPI(t, q, want, got, true)
}

// compareAPI requires the same series with the same points: timestamps
// equal as sent, values equal as sent when exact, else within 1e-9
// relative.
func compareAPI(t *testing.T, q string, want, got []apiSeries, exact bool) {
	t.Helper()
	key := func(s apiSeries) string { return labels.FromMap(s.Metric).String() }
	sortAPI := func(ss []apiSeries) []string {
		sort.Slice(ss, func(i, j int) bool { return key(ss[i]) < key(ss[j]) })
		keys := make([]string, len(ss))
		for i := range ss {
			keys[i] = key(ss[i])
		}
		return keys
	}
	require.Equal(t, sortAPI(want), sortAPI(got), "%s: series", q)
	for i := range want {
		w, g := want[i].Values, got[i].Values
		require.Equal(t, len(w), len(g), "%s: %s: points", q, key(want[i]))
		for j := range w {
			require.Equal(t, w[j].T, g[j].T, "%s: %s: point %d", q, key(want[i]), j)
			if exact || w[j].V == g[j].V {
				require.Equal(t, w[j].V, g[j].V, "%s: %s at %s", q, key(want[i]), w[j].T)
				continue
			}
			wv, err1 := strconv.ParseFloat(w[j].V, 64)
			gv, err2 := strconv.ParseFloat(g[j].V, 64)
			require.NoError(t, err1)
			require.NoError(t, err2)
			require.LessOrEqual(t, math.Abs(wv-gv), 1e-9*math.Max(math.Abs(wv), math.Abs(gv)),
				"%s: %s at %s: got %s, want %s", q, key(want[i]), w[j].T, g[j].V, w[j].V)
		}
	}
}

// rawWindow returns the raw samples the server holds for the selector sel
// in [from, to] (milliseconds).
func rawWindow(t *testing.T, p promAPI, sel string, from, to int64) seriesSet {
	t.Helper()
	q := fmt.Sprintf("%s[%dms]", sel, to-from+1000)
	typ, res := p.query(t, q, to)
	require.Equal(t, "matrix", typ, q)
	out := seriesSet{}
	for _, s := range res {
		pbs := make([]prompb.Label, 0, len(s.Metric))
		for n, v := range s.Metric {
			pbs = append(pbs, prompb.Label{Name: n, Value: v})
		}
		ser := out.get(pbs)
		for _, pt := range s.Values {
			ms, err := pt.millis()
			require.NoError(t, err)
			if ms < from || ms > to {
				continue
			}
			v, err := strconv.ParseFloat(pt.V, 64)
			require.NoError(t, err, "%s: value %q", q, pt.V)
			ser.samples = append(ser.samples, sample{t: ms, v: v})
		}
		if len(ser.samples) == 0 {
			delete(out, ser.lset.String())
		}
	}
	return out
}

// withoutStale returns a copy of ss without stale markers, which PromQL
// never returns in a range vector.
func withoutStale(t *testing.T, ss seriesSet) seriesSet {
	out := seriesSet{}
	dropped := 0
	for key, s := range ss {
		c := &series{lset: s.lset}
		for _, smp := range s.samples {
			if model.IsStaleNaN(smp.v) {
				dropped++
				continue
			}
			c.samples = append(c.samples, smp)
		}
		if len(c.samples) > 0 {
			out[key] = c
		}
	}
	if dropped > 0 {
		t.Logf("%d stale markers left out of the comparison with PromQL", dropped)
	}
	return out
}

// logReadTypes logs which response types the remote-read requests so far
// were answered with. Prometheus 2.42 accepts only SAMPLES; the streamed
// type is covered by our own reads.
func logReadTypes(t *testing.T, c *http.Client, base string) {
	t.Helper()
	const name = "gorilla_remote_read_request_duration_seconds_count"
	samples, _ := metricSum(t, c, base+"/metrics", name, `type="samples"`)
	streamed, _ := metricSum(t, c, base+"/metrics", name, `type="streamed_xor_chunks"`)
	t.Logf("remote-read requests answered: %.0f as SAMPLES, %.0f as STREAMED_XOR_CHUNKS; 2 and 1 of them are the test's own",
		samples, streamed)
}

// TestExampleConfigIsValid checks examples/prometheus.yml with promtool.
func TestExampleConfigIsValid(t *testing.T) {
	promtool := lookBinary(t, "promtool")
	out, err := exec.Command(promtool, "check", "config", "--syntax-only", "../examples/prometheus.yml").CombinedOutput()
	require.NoError(t, err, "promtool check config: %s", out)
}
