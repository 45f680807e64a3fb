package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// maxErrors is how many distinct errors of one phase the report keeps.
const maxErrors = 5

// ingest sends rounds [from, to) of w to the server and measures the server's
// CPU time around it.
func ingest(ctx context.Context, srv *server, w *loadgen.Workload, name string, from, to int) (phaseResult, error) {
	p := phaseResult{Name: name, FromRound: from, ToRound: to}
	cpu0, err := loadgen.ProcessCPU(srv.proc.pid())
	if err != nil {
		return p, err
	}
	res, runErr := w.Run(ctx, from, to)
	cpu1, err := loadgen.ProcessCPU(srv.proc.pid())
	if err != nil {
		return p, errors.Join(runErr, err)
	}
	p.Requests, p.Failed, p.Samples = res.Requests, res.Failed, res.Samples
	p.Seconds = res.Elapsed.Seconds()
	p.SamplesPerSec = res.SamplesPerSecond()
	p.P50Ms, p.P99Ms, p.MaxMs = ms(res.P50), ms(res.P99), ms(res.Max)
	p.CPUSeconds = (cpu1 - cpu0).Seconds()
	if p.Samples > 0 {
		p.CPUPerMSample = p.CPUSeconds / (float64(p.Samples) / 1e6)
	}
	if len(res.Errors) > maxErrors {
		res.Errors = res.Errors[:maxErrors]
	}
	p.Errors = res.Errors
	if runErr != nil {
		return p, fmt.Errorf("%s: %w", name, runErr)
	}
	return p, nil
}

// errEmpty is a query answer without any series: over the loaded range,
// every query of the load selects some.
var errEmpty = errors.New("empty result")

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// queryRun says how to time the range queries.
type queryRun struct {
	start, end int64 // milliseconds, the loaded time range
	step       time.Duration
	repeats    int
	timeout    time.Duration
}

// timeQueries runs every query once to warm up and then qr.repeats times,
// and keeps the median. An error answer counts as a failure; a query whose
// warm-up fails is not repeated.
func timeQueries(ctx context.Context, log *slog.Logger, c *apiClient, srv *server, queries []string, qr queryRun) []queryResult {
	out := make([]queryResult, 0, len(queries))
	for _, q := range queries {
		r := timeQuery(ctx, c, srv, q, qr)
		log.Info("query", "system", srv.sys.name, "query", q, "median_ms", r.MedianMs, "series", r.Series, "failures", r.Failures)
		out = append(out, r)
	}
	return out
}

func timeQuery(ctx context.Context, c *apiClient, srv *server, q string, qr queryRun) queryResult {
	r := queryResult{Query: q}
	once := func() (time.Duration, int, error) {
		ctx, cancel := context.WithTimeout(ctx, qr.timeout)
		defer cancel()
		t0 := time.Now()
		res, err := c.rangeQuery(ctx, srv, q, qr.start, qr.end, qr.step)
		return time.Since(t0), len(res), err
	}
	if _, n, err := once(); err != nil || n == 0 {
		if err == nil {
			err = errEmpty
		}
		r.Failures, r.Error = 1, "warm-up: "+err.Error()
		return r
	}
	var ds []time.Duration
	for range qr.repeats {
		if ctx.Err() != nil {
			break
		}
		d, n, err := once()
		if err == nil && n == 0 {
			err = errEmpty
		}
		if err != nil {
			r.Failures++
			r.Error = err.Error()
			continue
		}
		ds, r.Series = append(ds, d), n
	}
	r.Runs = len(ds)
	if r.Runs > 0 {
		r.MedianMs = ms(median(ds))
	}
	return r
}

// measureMemory records the peak and current RSS of the server.
func measureMemory(srv *server, series int, r *systemResult) error {
	m, err := readMemStatus(srv.proc.pid())
	if err != nil {
		return err
	}
	r.PeakRSSBytes, r.RSSBytes = m.PeakRSS, m.RSS
	if series > 0 {
		r.RSSPerSeries = float64(m.RSS) / float64(series)
	}
	return nil
}
