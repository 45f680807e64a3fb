//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
	"github.com/gorilla-remote/gorilla-remote/block"
)

// The block tests write ten hours of history (one sample a minute per
// series) ending now, into a server that keeps one hour in memory, seals
// windows 10 minutes after they end and looks every second: most of the
// history is then read back from blocks in the bucket.
const (
	blockSeries = 40
	blockRounds = 600
)

// blockArgs are the flags of a server that seals and releases quickly.
func blockArgs(port int, storage string, extra ...string) []string {
	return append([]string{
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--storage.path=" + storage,
		"--head.retention=1h",
		"--storage.out-of-order-window=10m",
		"--block.ship-interval=1s",
		"--head.maintenance-interval=1s",
		"--block.rollup-interval=1s",
	}, extra...)
}

// startBlockServer starts the binary with blockArgs and waits until ready.
func startBlockServer(t *testing.T, c *http.Client, bin string, port int, storage string, extra ...string) *process {
	t.Helper()
	p := startProcess(t, "gorilla-remote", bin, blockArgs(port, storage, extra...)...)
	p.waitOK(t, c, fmt.Sprintf("http://127.0.0.1:%d/-/ready", port), 60*time.Second)
	return p
}

// writeHistory sends the history through remote write, in time order (one
// sender, so that no sample arrives for a window already sealed).
func writeHistory(t *testing.T, base string) *loadgen.Workload {
	t.Helper()
	w, err := loadgen.Prepare(loadgen.Config{
		URL: base + "/api/v1/write", Series: blockSeries, Rounds: blockRounds, Senders: 1, Interval: time.Minute,
	})
	require.NoError(t, err)
	res, err := w.Run(context.Background(), 0, blockRounds)
	require.NoError(t, err)
	require.Zero(t, res.Failed, "failed remote-write requests: %v", res.Errors)
	require.Equal(t, int64(blockSeries*blockRounds), res.Samples)
	return w
}

// sealedWindows is how many windows of the history the server seals: those
// ending at least the out-of-order window before the newest sample.
func sealedWindows(w *loadgen.Workload) int {
	first, _ := w.Sample(0, 0)
	last, _ := w.Sample(0, blockRounds-1)
	bd := (2 * time.Hour).Milliseconds()
	n := 0
	for ws := first / bd * bd; ws+bd+(10*time.Minute).Milliseconds() <= last; ws += bd {
		n++
	}
	return n
}

// waitShipped waits until n blocks were sealed and none waits for upload,
// and the head released what is older than its retention.
func waitShipped(t *testing.T, c *http.Client, base string, n int, w *loadgen.Workload) {
	t.Helper()
	first, _ := w.Sample(0, 0)
	var sealed, pending float64
	var headMin int64
	err := poll(90*time.Second, 200*time.Millisecond, func() bool {
		sealed, _ = metricSum(t, c, base+"/metrics", "gorilla_shipper_sealed_blocks_total", "")
		pending, _ = metricSum(t, c, base+"/metrics", "gorilla_shipper_pending_blocks", "")
		headMin = headMinTime(t, c, base)
		return sealed >= float64(n) && pending == 0 && headMin > first
	})
	require.NoError(t, err, "sealed %v of %d blocks, %v pending, head from %d (history from %d)", sealed, n, pending, headMin, first)
}

func headMinTime(t *testing.T, c *http.Client, base string) int64 {
	t.Helper()
	var status struct {
		Data struct {
			HeadStats struct {
				MinTime int64 `json:"minTime"`
			} `json:"headStats"`
		} `json:"data"`
	}
	getJSON(t, c, base+"/api/v1/status/tsdb", &status)
	return status.Data.HeadStats.MinTime
}

// requireHistory reads the whole history back through PromQL (raw samples
// of several series) and remote read (every sample), exactly.
func requireHistory(t *testing.T, c *http.Client, base string, w *loadgen.Workload) {
	t.Helper()
	api := promAPI{base: base, c: c}
	first, _ := w.Sample(0, 0)
	last, _ := w.Sample(0, blockRounds-1)
	for _, i := range []int{0, 7, blockSeries - 1} {
		sel := selector(w.Labels(i))
		q := fmt.Sprintf("%s[%dms]", sel, last-first+1)
		typ, res := api.query(t, q, last)
		require.Equal(t, "matrix", typ, q)
		require.Len(t, res, 1, q)
		pts := res[0].Values
		require.Len(t, pts, blockRounds, "%s: samples of series %d", q, i)
		for r, pt := range pts {
			ts, v := w.Sample(i, r)
			ms, err := pt.millis()
			require.NoError(t, err)
			require.Equal(t, ts, ms, "series %d round %d", i, r)
			got, err := strconv.ParseFloat(pt.V, 64)
			require.NoError(t, err)
			require.Equal(t, math.Float64bits(v), math.Float64bits(got), "series %d round %d: got %s, want %v", i, r, pt.V, v)
		}
	}
	all := &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: labels.MetricName, Value: ".+"}
	for _, typ := range []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS} {
		got := remoteRead(t, c, base+"/api/v1/read", typ, first, last, all)
		require.Len(t, got, blockSeries, "%v: series", typ)
		require.Equal(t, blockSeries*blockRounds, got.samples(), "%v: samples", typ)
	}
}

// selector is the PromQL selector of exactly lset.
func selector(lset labels.Labels) string {
	var parts []string
	lset.Range(func(l labels.Label) { parts = append(parts, fmt.Sprintf("%s=%q", l.Name, l.Value)) })
	return "{" + strings.Join(parts, ",") + "}"
}

// TestBlocksFilesystem runs the binary on its default bucket (the local
// filesystem): closed windows are sealed and uploaded, the head releases
// them, and queries read them back from the bucket; promtool accepts the
// blocks; after a restart with an empty cache they are downloaded again.
func TestBlocksFilesystem(t *testing.T) {
	bin := buildServer(t)
	c := newHTTPClient(t)
	port, storage := freePort(t), t.TempDir()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	gr := startBlockServer(t, c, bin, port, storage)

	w := writeHistory(t, base)
	n := sealedWindows(w)
	require.GreaterOrEqual(t, n, 3)
	waitShipped(t, c, base, n, w)
	requireHistory(t, c, base, w)
	cached, _ := metricSum(t, c, base+"/metrics", "gorilla_block_cached_bytes", "")
	require.Positive(t, cached, "queries downloaded blocks into the cache")

	bucket := filepath.Join(storage, "bucket")
	t.Run("roll-ups", func(t *testing.T) { requireRollups(t, c, base, w, n) })
	t.Run("promtool", func(t *testing.T) { promtoolAcceptsBlocks(t, bucket, n) })

	code, err := gr.stop(syscall.SIGTERM, 20*time.Second)
	require.NoError(t, err)
	require.Zero(t, code)
	require.NoError(t, os.RemoveAll(filepath.Join(storage, "block-cache")))
	startBlockServer(t, c, bin, port, storage)
	t.Run("after restart", func(t *testing.T) { requireHistory(t, c, base, w) })
}

// requireRollups waits for the 5m and 1h roll-ups of the n sealed windows
// and checks that an hourly query over the history answers from them as
// it does from raw samples.
func requireRollups(t *testing.T, c *http.Client, base string, w *loadgen.Workload, n int) {
	var made float64
	require.NoError(t, poll(60*time.Second, 200*time.Millisecond, func() bool {
		made, _ = metricSum(t, c, base+"/metrics", "gorilla_rollup_blocks_total", "")
		return made >= float64(2*n)
	}), "%v of %d roll-up blocks", made, 2*n)
	first, _ := w.Sample(0, 0)
	last, _ := w.Sample(0, blockRounds-1)
	q := fmt.Sprintf("max_over_time(%s[1h])", selector(w.Labels(3)))
	api := promAPI{base: base, c: c}
	// Steps on the hour: each 1h range is twelve whole 5m intervals.
	start := ((first+3600_000)/3600_000 + 1) * 3600_000
	params := func(res string) url.Values {
		return url.Values{"query": {q}, "start": {apiTime(start)}, "end": {apiTime(last)}, "step": {"3600"}, "max_source_resolution": {res}}
	}
	typ, raw := api.get(t, "/api/v1/query_range", params("raw"))
	require.Equal(t, "matrix", typ)
	_, rolled := api.get(t, "/api/v1/query_range", params("auto"))
	require.Len(t, raw, 1)
	require.Len(t, rolled, 1)
	require.Equal(t, len(raw[0].Values), len(rolled[0].Values))
	require.NotEmpty(t, raw[0].Values)
	for i := range raw[0].Values {
		require.Equal(t, raw[0].Values[i], rolled[0].Values[i], "%s: point %d from raw samples and from roll-ups", q, i)
	}
}

// promtoolAcceptsBlocks runs promtool tsdb list and analyze on the bucket
// directory, which holds the blocks as uploaded.
func promtoolAcceptsBlocks(t *testing.T, bucket string, n int) {
	promtool := lookBinary(t, "promtool")
	out, err := exec.Command(promtool, "tsdb", "list", bucket).CombinedOutput()
	require.NoError(t, err, "promtool tsdb list: %s", out)
	var ids []string
	rollups := 0
	entries, err := os.ReadDir(bucket)
	require.NoError(t, err)
	for _, e := range entries {
		meta, err := block.ReadMeta(filepath.Join(bucket, e.Name()))
		if err != nil {
			continue
		}
		require.Contains(t, string(out), e.Name(), "promtool tsdb list names every block")
		if meta.Thanos.Downsample.Resolution == 0 {
			ids = append(ids, e.Name())
		} else {
			rollups++
		}
	}
	require.Len(t, ids, n, "raw blocks")
	require.Equal(t, 2*n, rollups, "5m and 1h roll-up blocks")
	out, err = exec.Command(promtool, "tsdb", "analyze", bucket, ids[0]).CombinedOutput()
	require.NoError(t, err, "promtool tsdb analyze: %s", out)
	require.Contains(t, string(out), fmt.Sprintf("Series: %d", blockSeries), "promtool tsdb analyze:\n%s", out)
}
