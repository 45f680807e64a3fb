package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// reloadFunc re-reads one part of the configuration and puts it in
// force. When it fails it must leave the part in force as it was and say
// why in its error: a bad file never replaces a good configuration.
type reloadFunc func() error

// reloader reloads the server's configuration, part by part, on SIGHUP and
// on POST /-/reload. Each part (the config file's reloadable keys, and
// later the limits file and the web config file) adds itself with add.
// A reload runs every part, in the order they were added, even after one
// has failed; it succeeds when every part does. It is safe for concurrent
// use: reloads run one at a time.
type reloader struct {
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex // held for a whole reload
	names []string   // guarded by mu
	funcs []reloadFunc

	ok     atomic.Bool  // the last reload succeeded (the start counts as one)
	lastOK atomic.Int64 // when the configuration in force was loaded, Unix ns
}

// newReloader returns a reloader with no part, whose last success is now:
// the configuration the server starts with.
func newReloader(logger *slog.Logger, now func() time.Time) *reloader {
	r := &reloader{log: logger, now: now}
	r.ok.Store(true)
	r.lastOK.Store(now().UnixNano())
	return r
}

// add appends a part named name (it names the part in errors and logs).
func (r *reloader) add(name string, fn reloadFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
	r.funcs = append(r.funcs, fn)
}

// reload runs every part and returns their errors, each prefixed with its
// part's name. It logs the outcome.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for i, fn := range r.funcs {
		if err := fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.names[i], err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.ok.Store(false)
		r.log.Error("reload failed: the configuration in force is kept", "err", err)
		return err
	}
	r.ok.Store(true)
	r.lastOK.Store(r.now().UnixNano())
	r.log.Info("configuration reloaded", "parts", strings.Join(r.names, ","))
	return nil
}

// status returns whether the last reload succeeded and when the
// configuration in force was loaded.
func (r *reloader) status() (ok bool, last time.Time) {
	return r.ok.Load(), time.Unix(0, r.lastOK.Load())
}

// collectors are the reloader's metrics, Prometheus's two with our prefix.
func (r *reloader) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gorilla_config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded (the start counts as one), else 0.",
		}, func() float64 {
			if r.ok.Load() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gorilla_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration in force was loaded, in seconds since the epoch.",
		}, func() float64 { return float64(r.lastOK.Load()) / 1e9 }),
	}
}

// errQuit ends the run group when POST /-/quit asked the server to stop.
var errQuit = errors.New("termination requested through /-/quit")

// watch is the lifecycle actor: it reloads on every value of hup (SIGHUP,
// whose default action would end the process), returns errQuit once quit
// is closed and nil once stop is.
func (r *reloader) watch(hup <-chan os.Signal, quit, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-quit:
			return errQuit
		case sig := <-hup:
			r.log.Info("reloading the configuration", "signal", sig.String())
			_ = r.reload() // logged; the configuration in force is kept
		}
	}
}
