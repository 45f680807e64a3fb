//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// The memory guard test sends a server with a small --head.memory-limit a
// spike of new series ten times the series it already holds, over and
// over, until the guard refuses them, and keeps writing to the series it
// already holds all along.
const (
	guardLimitMiB = 200
	// guardExisting is the number of series written before the spike; every
	// spike request carries ten times as many new series.
	guardExisting = 2000
	guardSpike    = 10 * guardExisting
	// guardMaxRequests and guardMaxTime bound the spike loop; so does a
	// resident set of guardBail times the limit, lest a guard that does not
	// hold exhaust the machine (the test fails then).
	guardMaxRequests = 100
	guardMaxTime     = 60 * time.Second
	guardBail        = 3
	// guardRefusals is how many refused spike requests end the loop: the
	// spike goes on past the first refusal, as a sender that retries does.
	// A request may pass again in between, once a collection freed memory.
	guardRefusals = 20
	// guardPad fattens every label set, as real label sets are, so that the
	// limit is reached in some hundred thousand series.
	guardPad = "pod-7f9c6d5b8d-abcde.namespace-production.cluster-eu-west-1.example.internal"
)

// TestMemoryGuard starts the binary with a 200 MiB memory limit, writes a
// few series, then sends new series in a bounded loop until they are
// refused, and requires that new series get 503 with Retry-After while
// samples for the existing series get 204, /-/ready stays 200, a query
// returns every sample of the existing series, and the peak resident set
// of the process stays within twice the limit.
func TestMemoryGuard(t *testing.T) {
	bin := buildServer(t)
	c := newHTTPClient(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProcess(t, "gorilla-remote", bin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--storage.path="+t.TempDir(), fmt.Sprintf("--head.memory-limit=%dMiB", guardLimitMiB))
	p.waitOK(t, c, base+"/-/ready", 30*time.Second)
	writeURL := base + "/api/v1/write"

	rss := startRSSSampler(t, p.cmd.Process.Pid)
	t0 := time.Now().Add(-10 * time.Minute).UnixMilli()
	rounds := 0
	writeExisting := func() {
		ts := t0 + int64(rounds)*1000
		code, hdr, msg := postWriteHeader(t, c, writeURL, existingBody(ts, float64(rounds)))
		require.Equal(t, http.StatusNoContent, code, "samples for existing series, round %d: %s (Retry-After %q)", rounds, msg, hdr.Get("Retry-After"))
		rounds++
	}
	writeExisting()

	limit := uint64(guardLimitMiB) << 20
	start, sent, refused, firstRefusal := time.Now(), 0, 0, -1
	for sent < guardMaxRequests && time.Since(start) < guardMaxTime && refused < guardRefusals && rss.peakSoFar() < guardBail*limit {
		code, hdr, msg := postWriteHeader(t, c, writeURL, spikeBody(sent, time.Now().UnixMilli()))
		switch code {
		case http.StatusNoContent:
		case http.StatusServiceUnavailable:
			require.NotEmpty(t, hdr.Get("Retry-After"), "503 for new series without Retry-After: %s", msg)
			require.Contains(t, msg, "memory limit", "503 for new series")
			if firstRefusal < 0 {
				firstRefusal = sent
				t.Logf("first refusal after %d spike requests (%d new series) in %v: %s",
					sent, sent*guardSpike, time.Since(start).Round(time.Millisecond), strings.TrimSpace(msg))
			}
			refused++
		default:
			t.Fatalf("spike request %d: got %d %s, want 204 or 503", sent, code, msg)
		}
		sent++
		writeExisting()
		if firstRefusal >= 0 {
			requireStatus(t, c, base+"/-/ready", http.StatusOK)
		}
	}
	peak, err := rss.stop()
	require.NoError(t, err, "sample the resident set of the server")
	t.Logf("spike: %d requests of %d new series, %d refused, in %v; peak VmRSS %.1f MiB, limit %d MiB (%.2f× the limit)",
		sent, guardSpike, refused, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20), guardLimitMiB, float64(peak)/float64(limit))
	require.GreaterOrEqual(t, firstRefusal, 0, "no spike request refused in %d requests (%v)", sent, time.Since(start))
	rejected, _ := metricSum(t, c, base+"/metrics", "gorilla_remote_write_samples_rejected_total", `reason="memory_limit"`)
	require.Positive(t, rejected, "samples rejected for the memory limit")

	requireStatus(t, c, base+"/-/ready", http.StatusOK)
	requireExistingSeries(t, promAPI{base: base, c: c}, t0, rounds)
	require.LessOrEqual(t, peak, 2*limit, "peak VmRSS %d bytes above twice the memory limit %d", peak, limit)
}

// requireExistingSeries requires that every existing series holds rounds
// samples, 0 to rounds-1, one a second from t0.
func requireExistingSeries(t *testing.T, api promAPI, t0 int64, rounds int) {
	t.Helper()
	last := t0 + int64(rounds-1)*1000
	for q, want := range map[string]float64{
		"count_over_time(guard_existing[1h])": float64(rounds),
		"sum_over_time(guard_existing[1h])":   float64(rounds*(rounds-1)) / 2,
	} {
		typ, res := api.query(t, q, last)
		require.Equal(t, "vector", typ, q)
		require.Len(t, res, guardExisting, "series of %s", q)
		for _, s := range res {
			require.NotNil(t, s.Value, "%s %v", q, s.Metric)
			got, err := strconv.ParseFloat(s.Value.V, 64)
			require.NoError(t, err, "%s %v", q, s.Metric)
			require.Equal(t, want, got, "%s %v", q, s.Metric)
		}
	}
}

// existingBody is a write request of one sample at ts for each of the
// series written before the spike.
func existingBody(ts int64, v float64) []byte {
	wr := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, guardExisting)}
	for i := range wr.Timeseries {
		wr.Timeseries[i] = guardSeries("guard_existing", i, ts, v)
	}
	return encodeWrite(wr)
}

// spikeBody is the n-th spike request: guardSpike series never sent before.
func spikeBody(n int, ts int64) []byte {
	wr := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, guardSpike)}
	for i := range wr.Timeseries {
		wr.Timeseries[i] = guardSeries("guard_spike", n*guardSpike+i, ts, 1)
	}
	return encodeWrite(wr)
}

// guardSeries is the series i of metric name with one sample.
func guardSeries(name string, i int, ts int64, v float64) prompb.TimeSeries {
	return prompb.TimeSeries{
		Labels: []prompb.Label{
			{Name: "__name__", Value: name},
			{Name: "i", Value: strconv.Itoa(i)},
			{Name: "instance", Value: guardPad + ":" + strconv.Itoa(i%1000)},
			{Name: "job", Value: "memory-guard"},
		},
		Samples: []prompb.Sample{{Timestamp: ts, Value: v}},
	}
}

// encodeWrite marshals and snappy-compresses a write request.
func encodeWrite(wr prompb.WriteRequest) []byte {
	b, err := wr.Marshal()
	if err != nil {
		panic(fmt.Sprintf("marshal a write request: %v", err))
	}
	return snappy.Encode(nil, b)
}

// requireStatus requires that a GET of url answers want.
func requireStatus(t *testing.T, c *http.Client, url string, want int) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, want, resp.StatusCode, "GET %s: %s", url, body)
}

// rssSampler reads a process's VmRSS every few milliseconds and keeps the
// peak.
type rssSampler struct {
	pid  int
	quit chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak uint64
	err  error
}

// startRSSSampler starts sampling the resident set of the process pid; the
// sampling ends with stop or, at the latest, with the test.
func startRSSSampler(t *testing.T, pid int) *rssSampler {
	t.Helper()
	s := &rssSampler{pid: pid, quit: make(chan struct{})}
	_, err := readVmRSS(pid)
	require.NoError(t, err, "read the resident set of the server")
	s.wg.Add(1)
	go s.run()
	t.Cleanup(func() { _, _ = s.stop() })
	return s
}

func (s *rssSampler) run() {
	defer s.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.sample()
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
	}
}

func (s *rssSampler) sample() {
	v, err := readVmRSS(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.peak = max(s.peak, v)
}

// peakSoFar returns the peak in bytes sampled so far.
func (s *rssSampler) peakSoFar() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// stop ends the sampling, takes a last sample and returns the peak in
// bytes, and the first error of a reading. It may be called more than once.
func (s *rssSampler) stop() (uint64, error) {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	s.wg.Wait()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.err
}

// readVmRSS returns the VmRSS of /proc/<pid>/status in bytes.
func readVmRSS(pid int) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read the status of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("process %d: VmRSS line %q", pid, sc.Text())
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: VmRSS line %q: %w", pid, sc.Text(), err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read the status of process %d: %w", pid, err)
	}
	return 0, fmt.Errorf("process %d has no VmRSS", pid)
}
