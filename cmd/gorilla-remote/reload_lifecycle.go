package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/common/model"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
	"github.com/gorilla-remote/gorilla-remote/promql"
)

// addLifecycle registers the reload metrics and adds the lifecycle actor
// to g: SIGHUP reloads (it never ends the process) and POST /-/quit ends
// the group. SIGHUP is caught from here on, before the group runs. Other
// parts of the configuration join the reload with srv.reloads.add.
func (srv *server) addLifecycle(g *run.Group) error {
	if err := metricsreg.Register(srv.reg, srv.reloads.collectors()); err != nil {
		return fmt.Errorf("reload metrics: %w", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	stop := make(chan struct{})
	g.Add(func() error { return srv.reloads.watch(hup, srv.quit, stop) }, func(error) {
		signal.Stop(hup)
		close(stop)
	})
	return nil
}

// handleLifecycle serves /-/reload and /-/quit as Prometheus does: POST
// or PUT act when --web.enable-lifecycle is set and are answered 403
// otherwise; any other method is answered 405.
func (srv *server) handleLifecycle(mux *http.ServeMux) {
	for path, fn := range map[string]http.HandlerFunc{"/-/reload": srv.serveReload, "/-/quit": srv.serveQuit} {
		if !srv.s.EnableLifecycle {
			fn = func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "Lifecycle API is not enabled.", http.StatusForbidden)
			}
		}
		mux.HandleFunc("POST "+path, fn)
		mux.HandleFunc("PUT "+path, fn)
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "Only POST or PUT requests allowed", http.StatusMethodNotAllowed)
		})
	}
}

// serveReload reloads and answers 200, or 500 with the reason when a
// part failed (the configuration in force is kept).
func (srv *server) serveReload(w http.ResponseWriter, _ *http.Request) {
	if err := srv.reloads.reload(); err != nil {
		http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
	}
}

// serveQuit asks the server to shut down, as SIGTERM does.
func (srv *server) serveQuit(w http.ResponseWriter, _ *http.Request) {
	first := false
	srv.quitOnce.Do(func() {
		first = true
		close(srv.quit)
	})
	if first {
		fmt.Fprint(w, "Requesting termination... Goodbye!")
		return
	}
	fmt.Fprint(w, "Termination already in progress.")
}

// status gives the query API's status endpoints their sources.
func (srv *server) status(h *head.Head) promql.ServerStatus {
	first, last := h.ReplayedSegments()
	return promql.ServerStatus{
		Config: func() string { return configYAML(*srv.effective.Load()) },
		Flags:  func() map[string]string { return maskedFlagValues(*srv.effective.Load()) },
		Runtime: func() promql.RuntimeStatus {
			ok, last := srv.reloads.status()
			s := srv.effective.Load()
			return promql.RuntimeStatus{
				StartTime: srv.start.UTC(), ReloadConfigSuccess: ok, LastConfigTime: last.UTC(),
				StorageRetention: retentionText(s.HeadRetention, s.StorageRetention),
			}
		},
		WALReplay: func() promql.WALReplayStatus {
			return promql.WALReplayStatus{Min: first, Max: last, Current: last}
		},
	}
}

// retentionText says how long data is kept: in memory, and as blocks in
// the bucket (0 keeps them forever).
func retentionText(headRetention, blocks time.Duration) string {
	b := "forever"
	if blocks > 0 {
		b = model.Duration(blocks).String()
	}
	return model.Duration(headRetention).String() + " in memory, blocks " + b
}
