package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// The demo writes at the default scrape interval; its analytics series
// always have demoPoints points, whatever --rounds says, so that the
// correlation and the autocorrelation have enough steps to mean something.
const (
	demoInterval = 15 * time.Second
	demoPoints   = 120
	demoPeriod   = 10 // steps per cycle of demo_queue_depth
	demoMaxLag   = 12
	demoQuery    = `sum by (job) (rate(http_requests_total[5m]))`
)

type demoCommand struct {
	cmd    *kingpin.CmdClause
	series int
	rounds int
	keep   bool
	listen string
	// tempParent is where the data directory is created; "" is the
	// system's temporary directory. Tests set it.
	tempParent string
}

func newDemoCommand(app *kingpin.Application) *demoCommand {
	c := &demoCommand{cmd: app.Command("demo", "Start a server on a temporary directory, write synthetic series to it over remote write, "+
		"and show compression, a PromQL range query, a correlation and an autocorrelation; then stop and clean up.")}
	c.cmd.Flag("series", "Synthetic series to write.").Default("2000").IntVar(&c.series)
	c.cmd.Flag("rounds", "Samples per synthetic series, 15s apart, ending now.").Default("120").IntVar(&c.rounds)
	c.cmd.Flag("keep", "Keep the data directory and print its path.").BoolVar(&c.keep)
	c.cmd.Flag("web.listen-address", "Address of the demo server; port 0 picks a free port.").Default("127.0.0.1:0").StringVar(&c.listen)
	return c
}

func (c *demoCommand) run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.exec(ctx, os.Stdout, os.Stderr)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("demo interrupted: %w", err)
	}
	return err
}

// exec runs the whole demo: the report goes to out, the progress line and
// the server's warnings to progress. It returns with the server stopped
// and, unless keep is set, the data directory removed.
func (c *demoCommand) exec(ctx context.Context, out, progress io.Writer) (err error) {
	if c.series <= 0 || c.rounds <= 0 {
		return fmt.Errorf("demo: need --series > 0 and --rounds > 0, got %d and %d", c.series, c.rounds)
	}
	progress = &lockedWriter{w: progress} // the server logs while the progress line is written
	dir, err := os.MkdirTemp(c.tempParent, "gorilla-remote-demo-")
	if err != nil {
		return fmt.Errorf("demo: data directory: %w", err)
	}
	if !c.keep {
		defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	}
	s, err := defaultSettings()
	if err != nil {
		return err
	}
	s.StoragePath = dir
	logger := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))

	t0 := time.Now()
	d, err := startDemoServer(ctx, s, c.listen, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.stop()) }()

	fmt.Fprintf(out, "gorilla-remote %s demo\n\n", version)
	kept := "removed at the end; --keep keeps it"
	if c.keep {
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

// defaultSettings returns the serve command's settings with every flag at
// its default, read from the flag definitions themselves.
func defaultSettings() (settings, error) {
	app := kingpin.New("gorilla-remote", "")
	cmd := app.Command("serve", "")
	var f flagSet
	f.register(cmd)
	if _, err := app.Parse([]string{"serve"}); err != nil {
		return settings{}, fmt.Errorf("BUG: default settings: %w", err)
	}
	return f.resolve()
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

// demoServer is a server of the serve command running in this process.
type demoServer struct {
	srv    *server
	addr   string // where it listens
	url    string // how to reach it over loopback
	client *http.Client
	done   chan struct{} // closed when run has returned
	runErr error         // set before done is closed
	used   []string      // the API URLs the demo fetched, for the report
}

// startDemoServer runs a server with s on listen and waits until it is
// ready. With port 0 a free port is picked first; should another process
// take it before the server binds it, another port is tried.
func startDemoServer(ctx context.Context, s settings, listen string, logger *slog.Logger) (*demoServer, error) {
	for attempt := 1; ; attempt++ {
		addr, picked, err := resolveListen(listen)
		if err != nil {
			return nil, err
		}
		d, err := launch(ctx, s, addr, logger)
		var op *net.OpError
		if err != nil && picked && attempt < 3 && errors.As(err, &op) && op.Op == "listen" {
			continue
		}
		return d, err
	}
}

// launch starts the server on addr and waits for /-/ready.
func launch(ctx context.Context, s settings, addr string, logger *slog.Logger) (*demoServer, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("demo: --web.listen-address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	s.ListenAddress = addr
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * loadgen.DefaultSenders
	d := &demoServer{
		srv:    newServer(s, logger, prometheus.NewRegistry()),
		addr:   addr,
		url:    "http://" + net.JoinHostPort(host, port),
		client: &http.Client{Transport: tr, Timeout: time.Minute},
		done:   make(chan struct{}),
	}
	go func() {
		defer close(d.done)
		d.runErr = d.srv.run()
	}()
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
		case <-d.done: // stop returns run's error
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

// stop shuts the server down as SIGTERM would, without a signal: run's
// group ends as soon as one of its actors returns, so closing srv.closed
// makes the storage actor close the head and return, and the group then
// shuts the HTTP server down. The storage goes first, unlike on SIGTERM;
// that is safe here because the demo has no request in flight by then.
func (d *demoServer) stop() error {
	d.srv.once.Do(func() { close(d.srv.closed) })
	<-d.done
	d.client.CloseIdleConnections()
	return d.runErr
}

// write sends the synthetic series through loadgen and the analytics
// series through a hand-built write request.
func (c *demoCommand) write(ctx context.Context, out, progress io.Writer, d *demoServer, end time.Time) error {
	fmt.Fprintf(out, "\n== Remote write: POST %s/api/v1/write ==\n", d.url)
	start := end.Add(-time.Duration(c.rounds) * demoInterval)
	total := int64(c.series) * int64(c.rounds)
	cfg := loadgen.Config{
		URL: d.url + "/api/v1/write", Series: c.series, Rounds: c.rounds, Interval: demoInterval,
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
		c.series, c.rounds, demoInterval, clock(start), clock(end.Add(-demoInterval)))
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

func (c *demoCommand) printURLs(out io.Writer, d *demoServer, dir string) {
	fmt.Fprintf(out, "\n== Try it ==\n")
	if c.keep {
		fmt.Fprintf(out, "The data is kept in %s. Serve it again with\n\n", dir)
		fmt.Fprintf(out, "  gorilla-remote serve --storage.path %s --web.listen-address %s\n\n", dir, d.addr)
		fmt.Fprintf(out, "then add %s as a Prometheus data source in Grafana, or repeat the requests above:\n\n", d.url)
	} else {
		fmt.Fprintf(out, "The server has stopped and its data is gone; run the demo with --keep to serve the data again\n")
		fmt.Fprintf(out, "and add its URL as a Prometheus data source in Grafana. The requests above were:\n\n")
	}
	for _, u := range d.used {
		fmt.Fprintf(out, "  curl -s '%s'\n", u)
	}
}

// clock formats t as UTC wall-clock time.
func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// humanCount writes v with a k or M suffix.
func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// promTime formats t as the API's seconds with milliseconds.
func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// printCompression shows the head's totals: what the Gorilla encoding made
// of the samples.
func (c *demoCommand) printCompression(ctx context.Context, out io.Writer, d *demoServer, _ time.Time) error {
	var st struct {
		Head struct {
			Series         int64   `json:"numSeries"`
			Chunks         int64   `json:"chunkCount"`
			Samples        int64   `json:"numSamples"`
			BytesPerSample float64 `json:"bytesPerSample"`
		} `json:"headStats"`
	}
	if err := d.get(ctx, "/api/v1/status/tsdb", nil, &st); err != nil {
		return err
	}
	h := st.Head
	fmt.Fprintf(out, "\n== Compression: GET /api/v1/status/tsdb ==\n")
	fmt.Fprintf(out, "series        %d\n", h.Series)
	fmt.Fprintf(out, "samples       %d\n", h.Samples)
	fmt.Fprintf(out, "chunks        %d\n", h.Chunks)
	if h.BytesPerSample > 0 {
		fmt.Fprintf(out, "bytes/sample  %.2f, against 16 raw (an 8-byte timestamp and an 8-byte float): %.1f× smaller\n",
			h.BytesPerSample, 16/h.BytesPerSample)
	}
	fmt.Fprintf(out, "chunk bytes   %sB, against %sB raw\n",
		humanCount(float64(h.Samples)*h.BytesPerSample), humanCount(16*float64(h.Samples)))
	return nil
}

// printRangeQuery runs demoQuery over the synthetic range and shows the
// first and last points of each series.
func (c *demoCommand) printRangeQuery(ctx context.Context, out io.Writer, d *demoServer, end time.Time) error {
	start := end.Add(-time.Duration(c.rounds) * demoInterval)
	last := end.Add(-demoInterval)
	// About 30 steps, a whole number of intervals.
	step := last.Sub(start) / 30
	if r := step % demoInterval; r != 0 || step == 0 {
		step += demoInterval - r
	}
	var data struct {
		Result []rangeSeries `json:"result"`
	}
	params := url.Values{"query": {demoQuery}, "start": {promTime(start)}, "end": {promTime(last)}, "step": {model.Duration(step).String()}}
	if err := d.get(ctx, "/api/v1/query_range", params, &data); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== PromQL: GET /api/v1/query_range ==\n")
	fmt.Fprintf(out, "query  %s\n", demoQuery)
	fmt.Fprintf(out, "range  %s to %s UTC, step %v: %d series\n\n", clock(start), clock(last), model.Duration(step), len(data.Result))
	if len(data.Result) == 0 {
		return nil
	}
	slices.SortFunc(data.Result, func(a, b rangeSeries) int { return strings.Compare(a.Metric["job"], b.Metric["job"]) })
	printTable(out, data.Result[:min(len(data.Result), 6)], 3)
	fmt.Fprintln(out, "(requests per second by job; rate needs two samples, so the first step has none)")
	return nil
}

// printTable writes one column per series, headed by its job, and one row
// per step: the first and the last edge steps.
func printTable(out io.Writer, res []rangeSeries, edge int) {
	cells := map[int64][]string{} // time in ms -> one cell per column
	fmt.Fprintf(out, "%-10s", "time")
	for col, r := range res {
		fmt.Fprintf(out, "%14s", "job="+r.Metric["job"])
		for _, p := range r.Values {
			t, v, ok := parsePoint(p)
			if !ok {
				continue
			}
			ms := int64(math.Round(t * 1000))
			if cells[ms] == nil {
				cells[ms] = slices.Repeat([]string{"-"}, len(res))
			}
			cells[ms][col] = strconv.FormatFloat(v, 'f', 1, 64)
		}
	}
	fmt.Fprintln(out)
	times := slices.Sorted(maps.Keys(cells))
	for i, ms := range times {
		if i == edge && len(times) > 2*edge {
			fmt.Fprintln(out, "...")
		}
		if i >= edge && i < len(times)-edge {
			continue
		}
		fmt.Fprintf(out, "%-10s", clock(time.UnixMilli(ms)))
		for _, cell := range cells[ms] {
			fmt.Fprintf(out, "%14s", cell)
		}
		fmt.Fprintln(out)
	}
}

// rangeSeries is one series of a query_range answer.
type rangeSeries struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"` // [seconds, "value"]
}

// analyticsRange returns the query range of the analytics series: one
// step per sample.
func analyticsRange(end time.Time) url.Values {
	return url.Values{
		"start": {promTime(end.Add(-demoPoints * demoInterval))},
		"end":   {promTime(end.Add(-demoInterval))},
		"step":  {demoInterval.String()},
	}
}

func printCorrelation(ctx context.Context, out io.Writer, d *demoServer, end time.Time) error {
	fmt.Fprintf(out, "\n== Correlation: GET /api/v1/correlate ==\n")
	fmt.Fprintf(out, "x  demo_requests_per_second\ny  demo_cpu_usage\n\n")
	for _, method := range []string{"pearson", "spearman"} {
		var data struct {
			Pairs []struct {
				Coefficient string `json:"coefficient"`
				Reason      string `json:"reason"`
				Points      int    `json:"points"`
			} `json:"pairs"`
		}
		params := analyticsRange(end)
		params.Set("x", "demo_requests_per_second")
		params.Set("y", "demo_cpu_usage")
		params.Set("method", method)
		if err := d.get(ctx, "/api/v1/correlate", params, &data); err != nil {
			return err
		}
		if len(data.Pairs) != 1 {
			return fmt.Errorf("demo: correlate: got %d pairs, want 1", len(data.Pairs))
		}
		p := data.Pairs[0]
		if p.Coefficient == "" {
			fmt.Fprintf(out, "%-9s undefined (%s), %d points\n", method, p.Reason, p.Points)
			continue
		}
		r, err := strconv.ParseFloat(p.Coefficient, 64)
		if err != nil {
			return fmt.Errorf("demo: correlate: coefficient %q: %w", p.Coefficient, err)
		}
		fmt.Fprintf(out, "%-9s %.4f over %d aligned points\n", method, r, p.Points)
	}
	fmt.Fprintf(out, "(1 is a perfect positive relation, 0 none: CPU follows the request rate)\n")
	return nil
}

func printAutocorrelation(ctx context.Context, out io.Writer, d *demoServer, end time.Time) error {
	var data struct {
		Series []struct {
			Points int      `json:"points"`
			ACF    [][2]any `json:"acf"`
		} `json:"series"`
	}
	params := analyticsRange(end)
	params.Set("query", "demo_queue_depth")
	params.Set("max_lag", strconv.Itoa(demoMaxLag))
	if err := d.get(ctx, "/api/v1/autocorrelation", params, &data); err != nil {
		return err
	}
	if len(data.Series) != 1 {
		return fmt.Errorf("demo: autocorrelation: got %d series, want 1", len(data.Series))
	}
	s := data.Series[0]
	fmt.Fprintf(out, "\n== Autocorrelation: GET /api/v1/autocorrelation ==\n")
	fmt.Fprintf(out, "query  demo_queue_depth, %d points, step %v\n\n", s.Points, demoInterval)
	fmt.Fprintf(out, "lag        r  %s\n", "-1        0        +1")
	bestLag, best := 0, math.Inf(-1)
	for _, p := range s.ACF {
		lag, r, ok := parsePoint(p)
		if !ok {
			continue
		}
		fmt.Fprintf(out, "%3d  %7.3f  %s\n", int(lag), r, bar(r, 10))
		if lag >= 2 && r > best {
			bestLag, best = int(lag), r
		}
	}
	if bestLag > 0 {
		fmt.Fprintf(out, "(strongest repeat: lag %d, every %v, r = %.3f)\n", bestLag, time.Duration(bestLag)*demoInterval, best)
	}
	return nil
}

// bar draws r in [-1, 1] as up to width marks left or right of an axis.
func bar(r float64, width int) string {
	n := int(math.Round(math.Abs(max(-1, min(1, r))) * float64(width)))
	if r < 0 {
		return strings.Repeat(" ", width-n) + strings.Repeat("#", n) + "|"
	}
	return strings.Repeat(" ", width) + "|" + strings.Repeat("#", n)
}

// parsePoint reads a [number, "value"] pair of the API.
func parsePoint(p [2]any) (x, v float64, ok bool) {
	x, ok = p[0].(float64)
	s, ok2 := p[1].(string)
	if !ok || !ok2 {
		return 0, 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return x, v, err == nil
}
