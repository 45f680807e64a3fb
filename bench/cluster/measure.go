package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

var processCPU = loadgen.ProcessCPU

// measureSetup starts the nodes of s, sends the load to the first one and
// queries it, and stops the nodes.
func measureSetup(ctx context.Context, o options, bin string, s setup, log *slog.Logger) (setupResult, error) {
	r := setupResult{Name: s.name, Nodes: s.nodes, RF: s.rf, QueryMs: map[string]float64{}}
	dir := filepath.Join(o.dir, fmt.Sprintf("%d-nodes", s.nodes))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	nodes, err := startNodes(o, bin, dir, s)
	if err != nil {
		return r, err
	}
	defer stopNodes(nodes)
	if err := waitReady(ctx, nodes); err != nil {
		return r, err
	}
	entry := nodes[0]
	w, err := loadgen.Prepare(loadgen.Config{
		URL: entry.api() + "/api/v1/write", Series: o.series, Rounds: o.warmup + o.rounds, Senders: o.senders,
	})
	if err != nil {
		return r, err
	}
	if _, err := w.Run(ctx, 0, o.warmup); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	cpu0, err := cpu(nodes)
	if err != nil {
		return r, err
	}
	profiled := startProfiles(ctx, nodes, dir, o.profile)
	res, runErr := w.Run(ctx, o.warmup, o.warmup+o.rounds)
	cpu1, err := cpu(nodes)
	if err != nil {
		return r, err
	}
	r.Requests, r.Failed, r.Samples = res.Requests, res.Failed, res.Samples
	r.Seconds = res.Elapsed.Seconds()
	r.P50Ms, r.P99Ms = msOf(res.P50), msOf(res.P99)
	r.CPUSeconds = (cpu1 - cpu0).Seconds()
	if r.Samples > 0 {
		r.CPUPerMSample = r.CPUSeconds / (float64(r.Samples) / 1e6)
	}
	r.Errors = res.Errors
	if err := profiled(); err != nil {
		log.Warn("cpu profile", "setup", s.name, "err", err)
	}
	if runErr != nil {
		return r, fmt.Errorf("load: %w", runErr)
	}
	log.Info("load done", "setup", s.name, "samples", r.Samples, "failed", r.Failed, "cpu_s", r.CPUSeconds)
	start, _ := w.Sample(0, 0)
	endT, _ := w.Sample(0, o.warmup+o.rounds-1)
	for _, q := range loadgen.ExampleQueries() {
		var runs []float64
		for range o.queryRuns {
			d, err := rangeQuery(ctx, entry, q, start, endT)
			if err != nil {
				return r, err
			}
			runs = append(runs, msOf(d))
		}
		r.QueryMs[q] = median(runs)
	}
	return r, nil
}

// rangeQuery runs q over [start, end] (ms) with a 60s step and returns how
// long the answer took.
func rangeQuery(ctx context.Context, n *node, q string, start, end int64) (time.Duration, error) {
	v := url.Values{"query": {q}, "start": {sec(start)}, "end": {sec(end)}, "step": {"60"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.api()+"/api/v1/query_range?"+v.Encode(), nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("query %s: %s: %.200s", q, resp.Status, body)
	}
	return d, nil
}

func sec(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64) }
