package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// The demo writes at the default scrape interval; its analytics series
// always have demoPoints points, whatever Options.Rounds says, so that the
// correlation and the autocorrelation have enough steps to mean something.
const (
	demoInterval = 15 * time.Second
	demoPoints   = 120
	demoPeriod   = 10 // steps per cycle of demo_queue_depth
	demoMaxLag   = 12
	demoQuery    = `sum by (job) (rate(http_requests_total[5m]))`
)

// Server is a gorilla-remote server running in this process, started by
// a StartFunc.
type Server interface {
	// Done is closed once the server has stopped, by itself or by Stop.
	Done() <-chan struct{}
	// Stop shuts the server down and returns the error it stopped with (a
	// failure to listen, for one). It may be called after Done is closed.
	Stop() error
}

// StartFunc starts a server with the serve command's default settings, but
// storing in dir and listening on listenAddress, and returns without
// waiting for it to be ready. The demo polls /-/ready itself.
type StartFunc func(dir, listenAddress string, logger *slog.Logger) (Server, error)

// Options configure a demo run.
type Options struct {
	Series int  // synthetic series to write, > 0
	Rounds int  // samples per synthetic series, 15s apart, ending now; > 0
	Keep   bool // keep the data directory and print how to serve it again
	// Listen is the server's address; port 0 picks a free port.
	Listen string
	// TempParent is where the data directory is created; "" is the
	// system's temporary directory.
	TempParent string
	Version    string    // printed in the report's title
	Start      StartFunc // required
}

// runner is one run of the demo.
type runner struct{ Options }

// Run runs the whole demo: it creates a data directory, starts a server
// on it, writes synthetic and analytics series over remote write, and
// reports compression, a range query, a correlation and an
// autocorrelation. The report goes to out, the progress line and the
// server's warnings to progress. Run returns with the server stopped and,
// unless Keep is set, the data directory removed.
func Run(ctx context.Context, opts Options, out, progress io.Writer) error {
	if opts.Start == nil {
		return errors.New("demo: no StartFunc")
	}
	return (&runner{opts}).exec(ctx, out, progress)
}

// exec runs the whole demo: the report goes to out, the progress line and
// the server's warnings to progress. It returns with the server stopped
// and, unless keep is set, the data directory removed.
func (c *runner) exec(ctx context.Context, out, progress io.Writer) (err error) {
	if c.Series <= 0 || c.Rounds <= 0 {
		return fmt.Errorf("demo: need series > 0 and rounds > 0, got %d and %d", c.Series, c.Rounds)
	}
	progress = &lockedWriter{w: progress} // the server logs while the progress line is written
	dir, err := os.MkdirTemp(c.TempParent, "gorilla-remote-demo-")
	if err != nil {
		return fmt.Errorf("demo: data directory: %w", err)
	}
	if !c.Keep {
		defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	}
	logger := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))

	t0 := time.Now()
	d, err := startServer(ctx, c.Start, dir, c.Listen, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.stop()) }()

	fmt.Fprintf(out, "gorilla-remote %s demo\n\n", c.Version)
	kept := "removed at the end; --keep keeps it"
	if c.Keep {
		kept = "kept"
	}
	fmt.Fprintf(out, "data directory  %s (%s)\n", dir, kept)
	fmt.Fprintf(out, "server          %s (ready in %v), serve's defaults: WAL in wal/, blocks in a FILESYSTEM bucket in bucket/\n",
		d.url, time.Since(t0).Round(time.Millisecond))

	// Every series ends one interval before a whole minute, so that the
	// query steps fall on round times.
	end := time.Now().Truncate(time.Minute)
	if err := c.write(ctx, out, progress, d, end); err != nil {
		return err
	}
	for _, step := range []func(context.Context, io.Writer, *demoServer, time.Time) error{
		c.printCompression, c.printRangeQuery, printCorrelation, printAutocorrelation,
	} {
		if err := step(ctx, out, d, end); err != nil {
			return err
		}
	}
	c.printURLs(out, d, dir)
	return nil
}

// lockedWriter serialises writes from the progress reporter and the logger.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer // guarded by mu
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// demoServer is the demo's server and its HTTP client.
type demoServer struct {
	srv    Server
	addr   string // where it listens
	url    string // how to reach it over loopback
	client *http.Client
	used   []string // the API URLs the demo fetched, for the report
}

// startServer runs a server on dir and listen and waits until it is
// ready. With port 0 a free port is picked first; should another process
// take it before the server binds it, another port is tried.
func startServer(ctx context.Context, start StartFunc, dir, listen string, logger *slog.Logger) (*demoServer, error) {
	for attempt := 1; ; attempt++ {
		addr, picked, err := resolveListen(listen)
		if err != nil {
			return nil, err
		}
		d, err := launch(ctx, start, dir, addr, logger)
		var op *net.OpError
		if err != nil && picked && attempt < 3 && errors.As(err, &op) && op.Op == "listen" {
			continue
		}
		return d, err
	}
}

// launch starts the server on addr and waits for /-/ready.
func launch(ctx context.Context, start StartFunc, dir, addr string, logger *slog.Logger) (*demoServer, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("demo: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	srv, err := start(dir, addr, logger)
	if err != nil {
		return nil, fmt.Errorf("demo: start the server: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * loadgen.DefaultSenders
	d := &demoServer{
		srv:    srv,
		addr:   addr,
		url:    "http://" + net.JoinHostPort(host, port),
		client: &http.Client{Transport: tr, Timeout: time.Minute},
	}
	if err := d.waitReady(ctx); err != nil {
		return nil, errors.Join(err, d.stop())
	}
	return d, nil
}

// resolveListen returns addr with a free port in place of port 0, and
// whether it picked one.
func resolveListen(addr string) (string, bool, error) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port != "0" {
		return addr, false, nil // launch reports a malformed address
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", false, fmt.Errorf("demo: find a free port on %s: %w", addr, err)
	}
	free := ln.Addr().String()
	return free, true, ln.Close()
}

func (d *demoServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if d.ready(ctx) {
			return nil
		}
		select {
		case <-d.srv.Done(): // stop returns the server's error
			return errors.New("demo: the server stopped before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("demo: wait for %s/-/ready: %w", d.url, ctx.Err())
		case <-tick.C:
		}
	}
}

// ready tells whether /-/ready answers 200 within a second: another
// process could hold the port and never answer.
func (d *demoServer) ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+"/-/ready", nil)
	if err != nil {
		return false
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop stops the server and closes the client's idle connections.
func (d *demoServer) stop() error {
	err := d.srv.Stop()
	d.client.CloseIdleConnections()
	return err
}

// write sends the synthetic series through loadgen and the analytics
// series through a hand-built write request.
func (c *runner) write(ctx context.Context, out, progress io.Writer, d *demoServer, end time.Time) error {
	fmt.Fprintf(out, "\n== Remote write: POST %s/api/v1/write ==\n", d.url)
	start := end.Add(-time.Duration(c.Rounds) * demoInterval)
	total := int64(c.Series) * int64(c.Rounds)
	cfg := loadgen.Config{
		URL: d.url + "/api/v1/write", Series: c.Series, Rounds: c.Rounds, Interval: demoInterval,
		Start: start, Client: d.client,
		Progress: func(p loadgen.Progress) {
			rate := float64(p.Samples) / max(p.Elapsed.Seconds(), 1e-9)
			fmt.Fprintf(progress, "\rwriting: %d/%d samples (%.0f%%) %s samples/s ",
				p.Samples, total, 100*float64(p.Samples)/float64(total), humanCount(rate))
		},
	}
	w, err := loadgen.Prepare(cfg)
	if err != nil {
		return err
	}
	res, err := w.Run(ctx, 0, w.Rounds())
	fmt.Fprintln(progress)
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("demo: %d of %d write requests failed: %s", res.Failed, res.Requests, strings.Join(res.Errors, "; "))
	}
	fmt.Fprintf(out, "synthetic   %d series × %d rounds at %v, %s to %s UTC (metric names from bench/loadgen)\n",
		c.Series, c.Rounds, demoInterval, clock(start), clock(end.Add(-demoInterval)))
	fmt.Fprintf(out, "sent        %d samples in %d requests, 0 failed, %v (%s samples/s, p99 latency %v)\n",
		res.Samples, res.Requests, res.Elapsed.Round(time.Millisecond), humanCount(res.SamplesPerSecond()), res.P99.Round(time.Microsecond))

	for _, req := range analyticsRequests(end) {
		if err := d.post(ctx, req); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "related     demo_requests_per_second and demo_cpu_usage ≈ 0.02 × requests + noise, %d samples each\n", demoPoints)
	fmt.Fprintf(out, "seasonal    demo_queue_depth: a sine of period %d steps + noise, %d samples\n", demoPeriod, demoPoints)
	return nil
}

// analyticsRequests returns the analytics series as write requests of 30
// steps each, in time order, the last sample one interval before end. The
// noise is seeded, so every run writes the same values.
func analyticsRequests(end time.Time) []*prompb.WriteRequest {
	const perRequest = 30
	rng := rand.New(rand.NewPCG(1, 2))
	first := end.Add(-demoPoints * demoInterval)
	var reqs []*prompb.WriteRequest
	for i := 0; i < demoPoints; i += perRequest {
		series := []prompb.TimeSeries{
			{Labels: demoLabels("demo_requests_per_second")},
			{Labels: demoLabels("demo_cpu_usage")},
			{Labels: demoLabels("demo_queue_depth")},
		}
		for j := i; j < min(i+perRequest, demoPoints); j++ {
			t := first.Add(time.Duration(j) * demoInterval).UnixMilli()
			rps := 300 + 120*math.Sin(2*math.Pi*float64(j)/47) + 2*float64(j) + 25*rng.NormFloat64()
			cpu := 0.02*rps + 0.3*rng.NormFloat64()
			queue := 40 + 25*math.Sin(2*math.Pi*float64(j)/demoPeriod) + 4*rng.NormFloat64()
			for k, v := range []float64{math.Round(rps*10) / 10, math.Round(cpu*1000) / 1000, math.Round(max(queue, 0))} {
				series[k].Samples = append(series[k].Samples, prompb.Sample{Timestamp: t, Value: v})
			}
		}
		reqs = append(reqs, &prompb.WriteRequest{Timeseries: series})
	}
	return reqs
}

func demoLabels(name string) []prompb.Label {
	return []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "demo"}}
}

// post sends req as a remote-write 1.0 request.
func (d *demoServer) post(ctx context.Context, req *prompb.WriteRequest) error {
	raw, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("demo: encode write request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Encoding", "snappy")
	hr.Header.Set("Content-Type", "application/x-protobuf")
	hr.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := d.client.Do(hr)
	if err != nil {
		return fmt.Errorf("demo: remote write: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("demo: remote write: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// get fetches an API path and decodes the data of a success answer into
// data.
func (d *demoServer) get(ctx context.Context, path string, params url.Values, data any) error {
	u := d.url + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	d.used = append(d.used, u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("demo: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("demo: GET %s: %s: decode answer: %w", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("demo: GET %s: %s: %s: %s", path, resp.Status, env.ErrorType, env.Error)
	}
	if err := json.Unmarshal(env.Data, data); err != nil {
		return fmt.Errorf("demo: GET %s: decode data: %w", path, err)
	}
	return nil
}
