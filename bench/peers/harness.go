package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// Timeouts of the server lifecycle.
const (
	dataTimeout   = 2 * time.Minute
	stopGrace     = 30 * time.Second
	pollInterval  = 20 * time.Millisecond
	queryTimeout  = 2 * time.Minute
	logTailLength = 2000
)

// harness runs every load against every system, one server at a time.
type harness struct {
	opts    options
	log     *slog.Logger
	procs   *procSet
	api     *apiClient
	tmp     string // holds the data directories and logs
	systems []*system
}

// load is one scale of the synthetic load, or the captured traffic.
type load struct {
	name    string
	series  int
	rounds  int
	capture string // path of the capture to replay, or ""
}

// runLoad runs l against every system in turn.
func (h *harness) runLoad(ctx context.Context, l load) scaleResult {
	s := scaleResult{Name: l.name, Series: l.series, Rounds: l.rounds}
	for _, sys := range h.systems {
		if ctx.Err() != nil {
			break
		}
		h.log.Info("run", "load", l.name, "system", sys.name)
		r := h.runSystem(ctx, sys, l, &s)
		for _, e := range problems(&r) {
			line, _, _ := strings.Cut(e, "\n")
			h.log.Warn("problem", "load", l.name, "system", sys.name, "err", clip(line, maxProblemLine))
		}
		s.Systems = append(s.Systems, r)
	}
	return s
}

// prepare builds the requests of l for the server at addr.
func (h *harness) prepare(l load, addr string) (*loadgen.Workload, error) {
	runtime.GC() // drop the previous system's requests before building more
	start := time.Now().Add(-time.Duration(l.rounds) * h.opts.interval).Truncate(time.Second)
	cfg := loadgen.Config{
		URL: "http://" + addr + "/api/v1/write", Series: l.series, Rounds: l.rounds,
		SamplesPerRequest: h.opts.samplesPerRequest, Senders: h.opts.senders,
		Interval: h.opts.interval, Start: start, Client: h.api.hc,
		Progress: func(p loadgen.Progress) {
			h.log.Debug("progress", "requests", p.Requests, "failed", p.Failed, "samples", p.Samples, "elapsed", p.Elapsed)
		},
	}
	t0 := time.Now()
	var w *loadgen.Workload
	var err error
	if l.capture != "" {
		w, err = loadgen.PrepareCapture(l.capture, cfg)
	} else {
		w, err = loadgen.Prepare(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", l.name, err)
	}
	h.log.Info("prepared", "load", l.name, "series", w.Series(), "rounds", w.Rounds(), "seconds", time.Since(t0).Seconds())
	return w, nil
}

// runSystem starts sys on a fresh directory, loads it, measures it, restarts
// it after kill -9, and stops it.
func (h *harness) runSystem(ctx context.Context, sys *system, l load, s *scaleResult) (r systemResult) {
	r.System = sys.name
	fail := func(err error) { r.Errors = append(r.Errors, err.Error()) }
	dir := filepath.Join(h.tmp, strings.ReplaceAll(l.name, " ", "-")+"-"+sys.name)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		fail(err)
		return r
	}
	if !h.opts.keep {
		defer func() {
			if len(problems(&r)) > 0 {
				h.saveLog(filepath.Join(dir, sys.name+".log"), filepath.Base(dir)+".log")
			}
			os.RemoveAll(dir)
		}()
	}
	addr, err := freeAddr()
	if err != nil {
		fail(err)
		return r
	}
	w, err := h.prepare(l, addr)
	if err != nil {
		fail(err)
		return r
	}
	s.Series, s.Rounds, s.Samples = w.Series(), w.Rounds(), w.SamplesIn(0, w.Rounds())
	srv := &server{sys: sys, addr: addr, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, sys.name+".log")}
	if err := h.start(ctx, srv, dir); err != nil {
		fail(err)
		return r
	}
	defer func() {
		if err := h.procs.stop(srv.proc, stopGrace); err != nil {
			fail(err)
		}
	}()
	if err := h.measure(ctx, srv, w, l, &r); err != nil {
		fail(err)
		return r
	}
	if d, err := sys.seal(ctx, h.api, srv); err != nil {
		fail(fmt.Errorf("seal: %w", err))
	} else {
		r.Disk = d
		r.DiskBytesPerSample = float64(d.Bytes) / float64(max(s.Samples, 1))
		r.WALBytesPerSample = float64(d.WALBytes) / float64(max(s.Samples, 1))
	}
	r.Restart = h.restart(ctx, srv, w, dir, l.capture == "")
	h.log.Info("restarted", "system", sys.name, "ready_s", r.Restart.ReadySeconds, "data_s", r.Restart.DataSeconds)
	return r
}

// phaseSpec is a stretch of rounds measured on its own.
type phaseSpec struct {
	name     string
	from, to int
}

// measure loads w into srv and takes every figure that needs the data loaded.
func (h *harness) measure(ctx context.Context, srv *server, w *loadgen.Workload, l load, r *systemResult) error {
	phases := []phaseSpec{{phaseNew, 0, 1}, {phaseSteady, 1, w.Rounds()}}
	if l.capture != "" {
		phases = []phaseSpec{{phaseReplay, 0, w.Rounds()}}
	}
	for _, ph := range phases {
		if ph.from >= ph.to {
			continue
		}
		p, err := ingest(ctx, srv, w, ph.name, ph.from, ph.to)
		r.Phases = append(r.Phases, p)
		if err != nil {
			return err
		}
		h.log.Info("ingested", "system", srv.sys.name, "phase", ph.name, "samples_per_sec", int64(p.SamplesPerSec),
			"failed", p.Failed, "cpu_s_per_m", p.CPUPerMSample)
	}
	if err := measureMemory(srv, w.Series(), r); err != nil {
		return err
	}
	if srv.sys.settle != nil {
		if err := srv.sys.settle(ctx, h.api, srv); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
	}
	if l.capture != "" {
		return nil
	}
	if h.opts.spotChecks > 0 {
		r.Check = checkData(ctx, h.api, srv, w, h.opts.spotChecks, h.opts.seed)
		h.log.Info("checked", "system", srv.sys.name, "pass", r.Check.Pass, "series", r.Check.SeriesGot, "mismatches", r.Check.Mismatches)
	}
	t0, _ := w.Sample(0, 0)
	t1, _ := w.Sample(0, w.Rounds()-1)
	r.Queries = timeQueries(ctx, h.log, h.api, srv, loadgen.ExampleQueries(), queryRun{
		start: t0, end: t1, step: h.opts.queryStep, repeats: h.opts.queryRepeats, timeout: queryTimeout,
	})
	return ctx.Err()
}

// start runs srv and waits until it is ready.
func (h *harness) start(ctx context.Context, srv *server, confDir string) error {
	args, err := srv.sys.args(srv.addr, srv.dataDir, confDir)
	if err != nil {
		return err
	}
	srv.proc, err = h.procs.start(srv.sys.name, srv.sys.bin, args, srv.logPath)
	if err != nil {
		return err
	}
	if err := h.waitReady(ctx, srv); err != nil {
		_ = h.procs.kill(srv.proc)
		return err
	}
	return nil
}

// waitReady polls the ready endpoint of srv until it answers 200.
func (h *harness) waitReady(ctx context.Context, srv *server) error {
	ctx, cancel := context.WithTimeout(ctx, h.opts.readyTimeout)
	defer cancel()
	for {
		if srv.proc.exited() {
			return fmt.Errorf("%s exited before it was ready: %v; log ends:\n%s", srv.sys.name, srv.proc.err, logTail(srv.logPath))
		}
		if h.api.statusCode(ctx, srv.url(srv.sys.readyPath)) == 200 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", srv.sys.name, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// restart kills srv with SIGKILL, starts it again on the same directory and
// times how long until it is ready and, when the load is synthetic (its
// series are known), until its newest sample is queryable.
func (h *harness) restart(ctx context.Context, srv *server, w *loadgen.Workload, confDir string, synthetic bool) *restartResult {
	r := &restartResult{}
	if err := h.procs.kill(srv.proc); err != nil {
		r.Error = err.Error()
		return r
	}
	t0 := time.Now()
	if err := h.start(ctx, srv, confDir); err != nil {
		r.Error = err.Error()
		return r
	}
	r.ReadySeconds = time.Since(t0).Seconds()
	if !synthetic {
		return r
	}
	last := w.Rounds() - 1
	series := w.Series() - 1
	tLast, _ := w.Sample(series, last)
	sel := selector(w.Labels(series))
	for {
		res, err := h.api.instant(ctx, srv, sel, tLast)
		if err == nil && len(res) == 1 {
			r.DataSeconds = time.Since(t0).Seconds()
			return r
		}
		if ctx.Err() != nil || time.Since(t0) > dataTimeout {
			r.Error = fmt.Sprintf("newest sample of %s not queryable after restart: %v", sel, errors.Join(err, ctx.Err()))
			return r
		}
		_ = sleep(ctx, pollInterval)
	}
}

// saveLog copies the server log at path next to the JSON report, as name in
// the directory <report>.logs, so that problems can be looked into after the
// data directories are gone.
func (h *harness) saveLog(path, name string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	dir := h.opts.out + ".logs"
	if err := os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err != nil {
		h.log.Warn("save server log", "err", err)
		return
	}
	h.log.Info("server log saved", "path", filepath.Join(dir, name))
}

// logTail is the end of a server log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > logTailLength {
		b = b[len(b)-logTailLength:]
	}
	return string(b)
}
