package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/replication"
	"github.com/gorilla-remote/gorilla-remote/wal"
	"github.com/gorilla-remote/gorilla-remote/web"
)

// shutdownTimeout bounds how long in-flight requests may take to finish on
// SIGTERM before the WAL is closed.
const shutdownTimeout = 30 * time.Second

type serveCommand struct {
	cmd   *kingpin.CmdClause
	flags flagSet
}

func newServeCommand(app *kingpin.Application) *serveCommand {
	c := &serveCommand{cmd: app.Command("serve", "Run the server (the default command).").Default()}
	c.flags.register(c.cmd)
	return c
}

func (c *serveCommand) run() error {
	s, err := c.flags.resolve()
	if err != nil {
		return err
	}
	logger, level := newLogger(s.LogLevel, s.LogFormat)
	setGoMemLimit(s, logger)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := newServer(s, logger, reg)
	srv.level = level
	args := os.Args[1:] // a reload resolves them again, with the file as it is then
	srv.loadSettings = func() (settings, error) { return resolveArgs(args) }
	return srv.run()
}

// newLogger returns the logger and its level, which a reload may change.
func newLogger(level, format string) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	lv.Set(parseLevel(level))
	o := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), lv
	}
	return slog.New(slog.NewTextHandler(os.Stderr, o)), lv
}

// server wires the storage and the HTTP endpoints.
type server struct {
	s      settings
	build  buildInfo
	log    *slog.Logger
	reg    *prometheus.Registry
	api    atomic.Pointer[http.Handler] // set once the head is open
	opened atomic.Pointer[head.Head]    // set once the head is open, for /-/ready
	multi  atomic.Pointer[tenants]      // set with tenancy once the stacks are open, for /-/ready
	limits atomic.Pointer[serverLimits] // set before the head is opened
	ready  atomic.Bool
	// cluster is the node's membership of a cluster, nil without
	// --cluster.join (cluster.go); internal serves /internal/v1/ without
	// tenancy, set once the head is open.
	cluster  *cluster
	internal atomic.Pointer[http.Handler]
	dist     atomic.Pointer[replication.Distributor] // the replicated write path, nil without cluster mode
	// regions forwards the writes to the other regions; nil without them.
	regions *replication.Forwarder
	// walCreate, if set, creates the WAL's files (wal.Options.CreateFile):
	// tests inject disk faults through it.
	walCreate func(path string) (wal.File, error)
	closed    chan struct{} // closed when the HTTP server has stopped
	once      sync.Once

	// Reloads (reload*.go). level, if set, is the logger's level;
	// loadSettings, if set, returns the settings a start would have now
	// (nil: there is no config file to read again).
	start        time.Time
	level        *slog.LevelVar
	loadSettings func() (settings, error)
	reloads      *reloader
	effective    atomic.Pointer[settings] // s with the reloaded settings in force
	quit         chan struct{}            // closed by POST /-/quit
	quitOnce     sync.Once
}

func newServer(s settings, logger *slog.Logger, reg *prometheus.Registry) *server {
	srv := &server{s: s, build: readBuildInfo(), log: logger, reg: reg, closed: make(chan struct{}),
		start: time.Now(), reloads: newReloader(logger, time.Now), quit: make(chan struct{})}
	srv.effective.Store(&s)
	srv.reloads.add("config file", srv.reloadConfig)
	srv.reloads.add("limits file", srv.reloadLimits)
	// The toolkit re-reads the web configuration on every request; a reload
	// checks it, so that a broken file is reported now, not by the next
	// request's 500.
	srv.reloads.add("web config file", func() error { return checkWebConfig(srv.s.WebConfigFile) })
	return srv
}

func (srv *server) run() error {
	if err := registerBuildInfo(srv.reg, srv.build); err != nil {
		return err
	}
	var g run.Group
	closeRegions, err := srv.addRegions(&g)
	if err != nil {
		return err
	}
	defer closeRegions()
	ln, err := listen(srv.s)
	if err != nil {
		return err
	}
	if srv.cluster, err = newCluster(srv.s, ln.Addr(), srv.log, srv.reg); err != nil {
		return errors.Join(err, ln.Close())
	}
	srv.log.Info("starting gorilla-remote", "version", srv.build.Version, "revision", srv.build.Revision,
		"branch", srv.build.Branch, "build_date", srv.build.BuildDate, "listen", ln.Addr().String(), "storage", srv.s.StoragePath)
	hs := newHTTPServer(srv.s, srv.routes(), srv.log)

	g.Add(run.SignalHandler(context.Background(), os.Interrupt, syscall.SIGTERM))
	if err := srv.addLifecycle(&g); err != nil {
		return errors.Join(err, ln.Close())
	}
	// Before the HTTP server's: on shutdown the node turns LEAVING while
	// the server still answers.
	srv.cluster.add(&g)
	g.Add(func() error {
		err := serveHTTP(hs, ln, srv.s.WebConfigFile, srv.log)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}, func(error) {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			srv.log.Warn("HTTP shutdown", "err", err)
		}
		srv.once.Do(func() { close(srv.closed) })
	})
	l := newLoops()
	t := newTenants(srv)
	g.Add(func() error {
		defer srv.cluster.storageDone()
		return srv.runStorage(l, t)
	}, func(error) {})
	if srv.s.TenancyEnabled {
		t.add(&g)
	} else {
		for _, loop := range srv.storageLoops() {
			l.add(&g, loop.what, loop.run)
		}
	}
	// The node joins JOINING before the storage opens.
	if err := srv.cluster.start(context.Background()); err != nil {
		srv.cluster.stop()
		return errors.Join(err, ln.Close())
	}
	err = g.Run()
	if errors.Is(err, run.ErrSignal) || errors.Is(err, errQuit) {
		srv.log.Info("shut down", "cause", err.Error())
		return nil
	}
	return err
}

// maxHeaderTimeout bounds the reading of request headers when
// --web.read-timeout is longer or disabled.
const maxHeaderTimeout = 30 * time.Second

// listen opens the server's listening socket, accepting at most
// s.MaxConnections connections at once (as Prometheus does: the next ones
// wait in the kernel's backlog).
func listen(s settings) (net.Listener, error) {
	ln, err := net.Listen("tcp", s.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.ListenAddress, err)
	}
	if s.MaxConnections > 0 {
		ln = netutil.LimitListener(ln, s.MaxConnections)
	}
	return ln, nil
}

// newHTTPServer builds the HTTP server serving h with the timeouts of s:
// a client sending its request slowly is cut off after ReadTimeout, one
// reading its answer slowly after WriteTimeout (the query API and remote
// read extend it per request, see apiHandler), and an idle keep-alive
// connection is closed after IdleTimeout.
func newHTTPServer(s settings, h http.Handler, logger *slog.Logger) *http.Server {
	header := maxHeaderTimeout
	if s.ReadTimeout > 0 {
		header = min(header, s.ReadTimeout)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: header,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// writeHandler builds the remote-write handler over app, its metrics
// registered with reg.
func (srv *server) writeHandler(app remote.Appendable, reg prometheus.Registerer) (http.Handler, error) {
	write, err := remote.NewWriteHandler(app, remote.WriteOptions{
		Registerer: srv.handlerReg(reg, "public"), Logger: srv.log, MaxDecodedBytes: srv.s.MaxDecodedBytes,
		MaxInflight: srv.s.MaxInflightWrites, Limits: srv.limits.Load().overrides,
	})
	if err != nil {
		return nil, fmt.Errorf("remote-write handler: %w", err)
	}
	return write, nil
}

// apiHandler builds the data endpoints of tenant id over an open head:
// write serves remote write, the others read q. admin is nil unless
// --web.enable-admin-api is set. The metrics go to reg.
func (srv *server) apiHandler(id string, write http.Handler, h *head.Head, r reads, admin promql.Admin, reg prometheus.Registerer) (http.Handler, error) {
	read, err := remote.NewReadHandler(r.q, remote.ReadOptions{
		Registerer: srv.handlerReg(reg, "public"), Logger: srv.log, MaxSamplesPerQuery: srv.s.MaxSamplesRead,
		WriteTimeout: srv.s.WriteTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("remote-read handler: %w", err)
	}
	api, err := srv.queryAPI(id, h, r, admin, reg)
	if err != nil {
		return nil, err
	}
	otlp, err := srv.otlpHandler(write)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/write", srv.replicate(write))
	mux.Handle(otlpPath, otlp)
	mux.Handle("/api/v1/read", read)
	mux.Handle("/api/v1/", api)
	return mux, nil
}

// queryAPI builds the PromQL engine and the Prometheus query API of
// tenant id. The engine takes the tenant's query samples and concurrency
// limits as they are now; its series limit is read at each query.
func (srv *server) queryAPI(id string, h *head.Head, r reads, admin promql.Admin, reg prometheus.Registerer) (http.Handler, error) {
	ov := srv.limits.Load().overrides
	samples, concurrency := srv.queryLimits(ov.For(id))
	eng, err := promql.NewEngine(promql.EngineOptions{
		LookbackDelta: srv.s.LookbackDelta,
		Timeout:       srv.s.QueryTimeout,
		MaxSamples:    samples,
		MaxConcurrent: concurrency,
		Shards:        srv.s.QueryShards,
		Logger:        srv.log,
		Registerer:    reg,
	})
	if err != nil {
		return nil, err
	}
	api, err := promql.NewAPI(promql.APIOptions{
		Engine:    eng,
		Queryable: query.LimitSeries(r.q, func() int { return ov.For(id).MaxQuerySeries }),
		Metadata:  r.metadata,
		Exemplars: r.exemplars,
		Admin:     admin,
		HeadStats: func() promql.HeadStats {
			st := h.Stats()
			return promql.HeadStats{
				Series: st.Series, Chunks: st.Chunks, Samples: st.Samples,
				BytesPerSample: st.BytesPerSample, MinTime: st.MinTime, MaxTime: st.MaxTime,
			}
		},
		BuildInfo:      srv.build.api(),
		Status:         srv.status(h),
		Logger:         srv.log,
		MaxInflight:    srv.s.QueryMaxInflight,
		MaxQueryLength: srv.s.QueryMaxLength,
		WriteTimeout:   srv.s.WriteTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("query API: %w", err)
	}
	return api, nil
}

// routes serves health, readiness and metrics at once, and the data
// endpoints once the head is open (503 before).
func (srv *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "gorilla-remote is Healthy.")
	})
	srv.handleLifecycle(mux)
	mux.Handle("/api/v1/status/replication", srv.replicationStatus())
	srv.handleCluster(mux)
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !srv.ready.Load() {
			http.Error(w, "gorilla-remote is not ready: replaying the write-ahead log.", http.StatusServiceUnavailable)
			return
		}
		// Writes are refused while the WAL cannot write; the head retries
		// it and this turns ready again by itself.
		if h := srv.opened.Load(); h != nil {
			if err := h.WALError(); err != nil {
				http.Error(w, "gorilla-remote is not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		if t := srv.multi.Load(); t != nil {
			if err := t.walError(); err != nil {
				http.Error(w, "gorilla-remote is not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "gorilla-remote is Ready.")
	})
	// The handler's own error counter takes the prefix of every metric of
	// ours: gorilla_promhttp_metric_handler_errors_total.
	mux.Handle("/metrics", promhttp.HandlerFor(srv.reg, promhttp.HandlerOpts{
		Registry: prometheus.WrapRegistererWithPrefix("gorilla_", srv.reg),
	}))
	// Go profiles, as Prometheus serves them, for `go tool pprof`.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// The built-in UI takes GET of /, its pages and /ui/assets/ only;
	// every other path still reaches the API below.
	if ui, err := web.New(); err != nil {
		srv.log.Warn("the web UI is not served", "err", err)
	} else {
		ui.Register(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api := srv.api.Load()
		if api == nil || !srv.ready.Load() {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "gorilla-remote is not ready: replaying the write-ahead log.", http.StatusServiceUnavailable)
			return
		}
		(*api).ServeHTTP(w, r)
	})
	return mux
}

// appendable adapts the head to the remote package's interface.
type appendable struct{ h *head.Head }

func (a appendable) Appender() remote.Appender { return a.h.Appender() }
