package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	removeBuilds()
	if code == 0 {
		// Every process, server and head a test started must be gone.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// requireOrSkip skips the test when a prerequisite is missing, or fails it
// when running in CI, where every prerequisite must be installed.
func requireOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// lookGoTool finds a program on PATH or in the Go bin directory, where
// `go install` puts it.
func lookGoTool(t *testing.T, name, pkg string) string {
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		require.NoError(t, err)
		gobin = filepath.Join(strings.TrimSpace(string(out)), "bin")
	}
	path := filepath.Join(gobin, name)
	if _, err := os.Stat(path); err != nil {
		requireOrSkip(t, "%s is not installed (go install %s): %v", name, pkg, err)
	}
	return path
}

// build holds the gorilla-remote binary built once for the test run.
var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildServer builds cmd/gorilla-remote once per test run and returns the
// binary's path.
func buildServer(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("find the go command: %w", err)
			return
		}
		if build.dir, build.err = os.MkdirTemp("", "gorilla-remote-e2e-"); build.err != nil {
			return
		}
		bin := filepath.Join(build.dir, "gorilla-remote")
		cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/gorilla-remote")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/gorilla-remote: %w\n%s", err, out)
			return
		}
		build.bin = bin
	})
	require.NoError(t, build.err)
	return build.bin
}

// removeBuilds deletes what buildServer built.
func removeBuilds() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// newHTTPClient returns a client with its own transport, whose idle
// connections are closed when the test ends.
func newHTTPClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// process is an external program started by a test. Its output goes to a
// log file that is shown when the test fails; it is killed when the test
// ends if it still runs.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once the process has exited
	err  error         // result of Wait, set before done is closed
}

// startProcess starts bin with args and registers its clean-up.
func startProcess(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	require.NoError(t, err)
	p := &process{name: name, cmd: exec.Command(bin, args...), log: f.Name(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	err = p.cmd.Start()
	require.NoError(t, f.Close())
	require.NoError(t, err, "start %s", name)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- log of %s (%s):\n%s", p.name, strings.Join(p.cmd.Args, " "), tail(p.log, 16<<10))
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL, unless the process already ended, and waits for it.
func (p *process) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// stop sends sig and waits up to timeout for the process to exit. It
// returns the exit code, or an error when the process did not exit in
// time or was ended by a signal.
func (p *process) stop(sig os.Signal, timeout time.Duration) (int, error) {
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		return -1, fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		return -1, fmt.Errorf("%s still runs %v after %v", p.name, timeout, sig)
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return -1, fmt.Errorf("%s was ended by signal %v", p.name, ws.Signal())
	}
	return p.cmd.ProcessState.ExitCode(), nil
}

// waitOK polls url until it answers 200. It fails the test when timeout
// passes first or the process exits.
func (p *process) waitOK(t *testing.T, c *http.Client, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		if p.exited() {
			t.Fatalf("%s exited while waiting for %s: %v", p.name, url, p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not OK after %v: %s", p.name, url, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tail returns at most the last n bytes of the file at path.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// metricSum fetches the text exposition at url and returns the sum of the
// values of the series of the metric name whose line contains filter, and
// whether there was any.
func metricSum(t *testing.T, c *http.Client, url, name, filter string) (float64, bool) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", url, body)
	sum, found := 0.0, false
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name) || len(line) == len(name) || (line[len(name)] != '{' && line[len(name)] != ' ') ||
			!strings.Contains(line, filter) {
			continue
		}
		rest := line[len(name):]
		if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			rest = rest[i+1:]
		}
		fields := strings.Fields(rest)
		require.NotEmpty(t, fields, "metric line %q", line)
		v, err := strconv.ParseFloat(fields[0], 64)
		require.NoError(t, err, "metric line %q", line)
		sum += v
		found = true
	}
	return sum, found
}

// promAPI queries the HTTP API of a Prometheus server.
type promAPI struct {
	base string // e.g. http://127.0.0.1:9090
	c    *http.Client
}

// apiSeries is one series of a vector or matrix result, with timestamps and
// values kept as the exact strings Prometheus sent.
type apiSeries struct {
	Metric map[string]string `json:"metric"`
	Values []apiPoint        `json:"values"`
	Value  *apiPoint         `json:"value"`
}

// apiPoint is one [timestamp, "value"] pair of a result.
type apiPoint struct {
	T string // seconds with millisecond decimals, as sent
	V string
}

// UnmarshalJSON decodes [1700000000.123, "42"].
func (p *apiPoint) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("point %s: want [t, v]", b)
	}
	p.T = string(pair[0])
	return json.Unmarshal(pair[1], &p.V)
}

// millis returns the point's timestamp in milliseconds.
func (p apiPoint) millis() (int64, error) {
	sec, frac, _ := strings.Cut(p.T, ".")
	frac = (frac + "000")[:3]
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q: %w", p.T, err)
	}
	ms, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q: %w", p.T, err)
	}
	return s*1000 + ms, nil
}

// apiTime formats a millisecond timestamp as the API's seconds.
func apiTime(ms int64) string {
	return fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
}

// query runs an instant query at ts (milliseconds) and returns its result
// type and series.
func (a promAPI) query(t *testing.T, q string, ts int64) (string, []apiSeries) {
	t.Helper()
	return a.get(t, "/api/v1/query", url.Values{"query": {q}, "time": {apiTime(ts)}})
}

// queryRange runs a range query over [start, end] (milliseconds).
func (a promAPI) queryRange(t *testing.T, q string, start, end int64, step time.Duration) []apiSeries {
	t.Helper()
	typ, res := a.get(t, "/api/v1/query_range", url.Values{
		"query": {q}, "start": {apiTime(start)}, "end": {apiTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
	require.Equal(t, "matrix", typ, "result type of range query %q", q)
	return res
}

func (a promAPI) get(t *testing.T, path string, params url.Values) (string, []apiSeries) {
	t.Helper()
	u := a.base + path + "?" + params.Encode()
	resp, err := a.c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var env struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Warnings  []string
		Data      struct {
			ResultType string      `json:"resultType"`
			Result     []apiSeries `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &env), "GET %s: %s", u, body)
	require.Equal(t, "success", env.Status, "GET %s: %s: %s", u, env.ErrorType, env.Error)
	require.Empty(t, env.Warnings, "GET %s", u)
	return env.Data.ResultType, env.Data.Result
}

// errStopped marks a poll that gave up.
var errStopped = errors.New("condition not met in time")

// poll calls cond every interval until it returns true or timeout passes.
func poll(timeout, interval time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errStopped
		}
		time.Sleep(interval)
	}
	return nil
}

// postWriteHeader sends one snappy remote-write 1.0 body and returns the
// status code, the answer's header and its body.
func postWriteHeader(t *testing.T, c *http.Client, url string, body []byte) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	msg, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(msg)
}
