package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// phaseLongRun names the long-run phase in logs, tables and JSON.
const phaseLongRun = "long run"

// longRunSystems are the systems the long-run phase measures: it sizes a
// machine for a full head, which is what gorilla-remote and Prometheus keep
// in memory.
var longRunSystems = []string{gorilla, prometheus}

// longRunOptions are the settings of the long-run phase.
type longRunOptions struct {
	enabled        bool
	series         int
	span           time.Duration
	roundsPerBatch int
	settle         time.Duration
}

// longRunResult is what one system did and held in the long-run phase.
type longRunResult struct {
	System        string  `json:"system"`
	Series        int     `json:"series"`
	Rounds        int     `json:"rounds"`
	Samples       int64   `json:"samples"`
	Failed        int64   `json:"failed_requests"`
	Seconds       float64 `json:"seconds"`
	SamplesPerSec float64 `json:"samples_per_second"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMSample float64 `json:"cpu_seconds_per_million_samples"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
	RSSBytes      int64   `json:"rss_bytes"`
	RSSPerSeries  float64 `json:"rss_bytes_per_series"`
	RSSPerSample  float64 `json:"rss_bytes_per_sample"`
	// MemBytesPerSample is gorilla-remote's head chunk bytes per sample
	// held (headStats.bytesPerSample); HeadSamples the samples it holds.
	MemBytesPerSample float64  `json:"mem_bytes_per_sample,omitempty"`
	HeadSamples       int64    `json:"head_samples,omitempty"`
	DiskBytes         int64    `json:"disk_bytes"`
	Blocks            int      `json:"blocks"`
	Errors            []string `json:"errors,omitempty"`
}

// longRunBatch is one prepared stretch of rounds of the long run.
type longRunBatch struct {
	w   *loadgen.Workload
	err error
}

// runLongRun fills a fresh server of every long-run system with the
// back-dated samples of o.span, ending now, and measures what it holds.
func (h *harness) runLongRun(ctx context.Context) []longRunResult {
	var out []longRunResult
	for _, sys := range h.systems {
		if ctx.Err() != nil || !slices.Contains(longRunSystems, sys.name) {
			continue
		}
		h.log.Info("run", "load", phaseLongRun, "system", sys.name)
		r := h.longRunSystem(ctx, sys)
		for _, e := range r.Errors {
			h.log.Warn("problem", "load", phaseLongRun, "system", sys.name, "err", clip(e, maxProblemLine))
		}
		out = append(out, r)
	}
	return out
}

func (h *harness) longRunSystem(ctx context.Context, sys *system) (r longRunResult) {
	o := h.opts.longRun
	r = longRunResult{System: sys.name, Series: o.series, Rounds: int(o.span / h.opts.interval)}
	fail := func(err error) { r.Errors = append(r.Errors, err.Error()) }
	dir := filepath.Join(h.tmp, "long-run-"+sys.name)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		fail(err)
		return r
	}
	if !h.opts.keep {
		defer os.RemoveAll(dir)
	}
	addr, err := freeAddr()
	if err != nil {
		fail(err)
		return r
	}
	srv := &server{sys: sys, addr: addr, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, sys.name+".log")}
	if err := h.start(ctx, srv, dir); err != nil {
		fail(err)
		return r
	}
	defer func() {
		if err := h.procs.stop(srv.proc, stopGrace); err != nil {
			fail(err)
		}
		if len(r.Errors) > 0 && !h.opts.keep {
			h.saveLog(srv.logPath, "long-run-"+sys.name+".log")
		}
	}()
	if err := h.fillLongRun(ctx, srv, &r); err != nil {
		fail(err)
		return r
	}
	// Let the server do what it does after a burst of writes (seal and
	// upload windows, compact its head) before its memory is read.
	if err := sleep(ctx, o.settle); err != nil {
		fail(err)
		return r
	}
	if err := h.longRunMemory(ctx, srv, &r); err != nil {
		fail(err)
	}
	return r
}

// fillLongRun sends every round of the long run to srv, a batch of rounds
// at a time, the next batch prepared while one is sent.
func (h *harness) fillLongRun(ctx context.Context, srv *server, r *longRunResult) error {
	o := h.opts.longRun
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now().Add(-o.span).Truncate(time.Second)
	batches := make(chan longRunBatch, 1)
	go func() {
		defer close(batches)
		for first := 0; first < r.Rounds; first += o.roundsPerBatch {
			cfg := loadgen.Config{
				URL: "http://" + srv.addr + "/api/v1/write", Series: o.series,
				Rounds: min(o.roundsPerBatch, r.Rounds-first), FirstRound: first,
				Start:             start.Add(time.Duration(first) * h.opts.interval),
				SamplesPerRequest: h.opts.samplesPerRequest, Senders: h.opts.senders,
				Interval: h.opts.interval, Client: h.api.hc,
			}
			w, err := loadgen.Prepare(cfg)
			select {
			case batches <- longRunBatch{w, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	cpu0, err := loadgen.ProcessCPU(srv.proc.pid())
	if err != nil {
		return err
	}
	t0, done, nextLog := time.Now(), 0, 0
	for b := range batches {
		if b.err != nil {
			return fmt.Errorf("prepare: %w", b.err)
		}
		res, err := b.w.Run(ctx, 0, b.w.Rounds())
		r.Samples += res.Samples
		r.Failed += res.Failed
		for _, e := range res.Errors {
			if len(r.Errors) < maxErrors && !slices.Contains(r.Errors, e) {
				r.Errors = append(r.Errors, e)
			}
		}
		if err != nil {
			return err
		}
		if done += b.w.Rounds(); done*10/r.Rounds >= nextLog {
			h.log.Info("long run", "system", srv.sys.name, "rounds", done, "of", r.Rounds, "samples", r.Samples, "failed", r.Failed)
			nextLog = done*10/r.Rounds + 1
		}
	}
	r.Seconds = time.Since(t0).Seconds()
	cpu1, err := loadgen.ProcessCPU(srv.proc.pid())
	if err != nil {
		return err
	}
	r.CPUSeconds = (cpu1 - cpu0).Seconds()
	if r.Samples > 0 {
		r.SamplesPerSec = float64(r.Samples) / r.Seconds
		r.CPUPerMSample = r.CPUSeconds / (float64(r.Samples) / 1e6)
	}
	return nil
}

// longRunMemory reads what the server holds once the long run is in.
func (h *harness) longRunMemory(ctx context.Context, srv *server, r *longRunResult) error {
	m, err := readMemStatus(srv.proc.pid())
	if err != nil {
		return err
	}
	r.PeakRSSBytes, r.RSSBytes = m.PeakRSS, m.RSS
	r.RSSPerSeries = float64(m.RSS) / float64(max(r.Series, 1))
	r.RSSPerSample = float64(m.RSS) / float64(max(r.Samples, 1))
	if srv.sys.name == gorilla {
		st, err := gorillaHeadStats(ctx, h.api, srv)
		if err != nil {
			return err
		}
		r.MemBytesPerSample, r.HeadSamples = st.BytesPerSample, st.NumSamples
	}
	if r.DiskBytes, err = dirSize(srv.dataDir); err != nil {
		return err
	}
	r.Blocks, err = countBlocks(srv.dataDir)
	return err
}

// countBlocks counts the meta.json files under dir: the blocks a system
// wrote there (gorilla-remote's default bucket is under its storage path).
func countBlocks(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "meta.json" {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count blocks under %s: %w", dir, err)
	}
	return n, nil
}

// longRunRows are the rows of the long-run table.
var longRunRows = []struct {
	label string
	value func(r *longRunResult) float64
	count bool // printed as an integer, with no ratio
}{
	{"samples acknowledged", func(r *longRunResult) float64 { return float64(r.Samples) }, true},
	{"failed requests", func(r *longRunResult) float64 { return float64(r.Failed) }, true},
	{"ingest (samples/s)", func(r *longRunResult) float64 { return r.SamplesPerSec }, false},
	{"server CPU s / M samples", func(r *longRunResult) float64 { return r.CPUPerMSample }, false},
	{"peak RSS (MiB)", func(r *longRunResult) float64 { return float64(r.PeakRSSBytes) / (1 << 20) }, false},
	{"RSS at full retention (MiB)", func(r *longRunResult) float64 { return float64(r.RSSBytes) / (1 << 20) }, false},
	{"RSS bytes / series", func(r *longRunResult) float64 { return r.RSSPerSeries }, false},
	{"RSS bytes / sample held", func(r *longRunResult) float64 { return r.RSSPerSample }, false},
	{"head chunk bytes / sample", func(r *longRunResult) float64 { return positive(r.MemBytesPerSample) }, false},
	{"disk bytes / sample (all files)", func(r *longRunResult) float64 { return float64(r.DiskBytes) / float64(max(r.Samples, 1)) }, false},
	{"blocks written", func(r *longRunResult) float64 { return float64(r.Blocks) }, true},
}

// printLongRun writes the long-run table: a column per system and the
// ratio gorilla-remote / Prometheus.
func printLongRun(w io.Writer, rs []longRunResult) {
	if len(rs) == 0 {
		return
	}
	var gr, prom *longRunResult
	header := []string{fmt.Sprintf("%s (%d series, %d rounds)", phaseLongRun, rs[0].Series, rs[0].Rounds)}
	for i := range rs {
		header = append(header, rs[i].System)
		switch rs[i].System {
		case gorilla:
			gr = &rs[i]
		case prometheus:
			prom = &rs[i]
		}
	}
	if gr != nil && prom != nil {
		header = append(header, "gr/prom")
	}
	var rows [][]string
	for _, row := range longRunRows {
		cells := []string{row.label}
		for i := range rs {
			if row.count {
				cells = append(cells, fmt.Sprintf("%.0f", row.value(&rs[i])))
			} else {
				cells = append(cells, formatNum(row.value(&rs[i])))
			}
		}
		if row.count && gr != nil && prom != nil {
			cells = append(cells, "-")
		} else if gr != nil && prom != nil {
			r := ratio(row.value(gr), row.value(prom))
			cells = append(cells, formatRatio(r, !math.IsInf(r, 0)))
		}
		rows = append(rows, cells)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, formatTable(header, rows))
	for _, r := range rs {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s: %s\n", r.System, clip(e, maxProblemLine))
		}
	}
}
