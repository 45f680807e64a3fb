package promql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// Metadata is what the API needs of the store beyond the queryable: the
// metric families' metadata and the store's totals.
type Metadata interface {
	Metadata() map[string]model.Metadata
}

// HeadStats are the in-memory store's totals shown by /api/v1/status/tsdb.
type HeadStats struct {
	Series         int
	Chunks         int
	Samples        int
	BytesPerSample float64
	MinTime        int64 // math.MaxInt64 when empty
	MaxTime        int64 // math.MinInt64 when empty
}

// BuildInfo is the answer of /api/v1/status/buildinfo. Grafana reads the
// version to pick which API features to use.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// APIOptions configure the API.
type APIOptions struct {
	Engine    *Engine           // required
	Queryable storage.Queryable // required
	Metadata  Metadata          // may be nil: /metadata answers {}
	HeadStats func() HeadStats  // may be nil: /status/tsdb reports zeros
	Exemplars ExemplarQuerier   // may be nil: /query_exemplars answers []
	// Admin serves /api/v1/admin/tsdb/*; nil answers them 503 unavailable
	// "admin APIs disabled", as Prometheus without --web.enable-admin-api.
	Admin     Admin
	BuildInfo BuildInfo
	Status    ServerStatus // the /status/ endpoints' sources; see ServerStatus
	Logger    *slog.Logger
	// Now is the clock for queries without a time; time.Now when nil.
	Now func() time.Time

	// MaxInflight bounds the requests served at once, from the moment
	// their headers are read until they are answered; one more is answered
	// 503 (errorType unavailable) with Retry-After at once, rather than
	// queued without limit. Queries past the engine's MaxConcurrent wait
	// for an engine slot inside this bound. Default DefaultMaxInflight.
	MaxInflight int
	// MaxQueryLength bounds each expression parameter in bytes (bad_data
	// above it). Default DefaultMaxQueryLength.
	MaxQueryLength int
	// MaxQueryDepth bounds how deeply an expression nests (bad_data above
	// it; see depthBound). Default DefaultMaxQueryDepth.
	MaxQueryDepth int
	// WriteTimeout, when positive, sets each request's write deadline as
	// it arrives to the engine's timeout plus WriteTimeout: a query may
	// run for its whole timeout and still have WriteTimeout to send its
	// answer. 0 leaves the server's write timeout in force.
	WriteTimeout time.Duration
}

// DefaultMaxInflight is the default of APIOptions.MaxInflight.
const DefaultMaxInflight = 128

// API serves the Prometheus HTTP query API under /api/v1/.
type API struct {
	opts     APIOptions
	parser   parser.Parser
	mux      *http.ServeMux
	handler  http.Handler  // mux behind the gzip compression
	gzip     gzipPool      // writers of compressed answers
	results  resultBuffers // buffers query answers are encoded into
	inflight chan struct{} // one token per request being served
}

// maxPoints is the most points per series a range query may ask for, as
// in Prometheus.
const maxPoints = 11000

// NewAPI returns the API handler.
func NewAPI(opts APIOptions) (*API, error) {
	if opts.Engine == nil || opts.Queryable == nil {
		return nil, errors.New("promql API needs an engine and a queryable")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	setDefault(&opts.MaxInflight, DefaultMaxInflight)
	setDefault(&opts.MaxQueryLength, DefaultMaxQueryLength)
	setDefault(&opts.MaxQueryDepth, DefaultMaxQueryDepth)
	a := &API{
		opts:     opts,
		parser:   parser.NewParser(parser.Options{Functions: nativeFunctions(true)}),
		mux:      http.NewServeMux(),
		inflight: make(chan struct{}, opts.MaxInflight),
	}
	routes := map[string]func(*http.Request) (any, *apiError){
		"/api/v1/query":               a.instantQuery,
		"/api/v1/query_range":         a.rangeQuery,
		"/api/v1/series":              a.series,
		"/api/v1/labels":              a.labelNames,
		"/api/v1/label/{name}/values": a.labelValues,
		"/api/v1/metadata":            a.metadata,
		"/api/v1/status/buildinfo":    a.buildInfo,
		"/api/v1/status/tsdb":         a.tsdbStatus,
		"/api/v1/status/config":       a.configStatus,
		"/api/v1/status/flags":        a.flagsStatus,
		"/api/v1/status/runtimeinfo":  a.runtimeInfo,
		"/api/v1/status/walreplay":    a.walReplay,
		"/api/v1/format_query":        a.formatQuery,
		"/api/v1/parse_query":         a.parseQuery,
		"/api/v1/query_exemplars":     a.queryExemplars,
		"/api/v1/correlate":           a.correlate,
		"/api/v1/autocorrelation":     a.autocorrelationAPI,
	}
	for path, fn := range routes {
		a.mux.Handle(path, a.wrap(fn))
	}
	a.adminRoutes()
	a.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{errNotFound, fmt.Errorf("unknown endpoint %s", r.URL.Path)})
	})
	a.handler = a.gzip.compress(a.mux)
	return a, nil
}

// ServeHTTP serves the API; answers are gzip-compressed for the clients
// that accept it (Accept-Encoding: gzip).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// result carries a query answer with its annotations.
type result struct {
	data  any
	annos annotations.Annotations
	query string
}

// wrap admits the request (MaxInflight), parses the form (query string
// and urlencoded POST body), checks its expressions, runs fn and writes
// the envelope.
func (a *API) wrap(fn func(*http.Request) (any, *apiError)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			writeJSON(w, http.StatusMethodNotAllowed, response{Status: "error", ErrorType: errBadData, Error: "method " + r.Method + " not allowed"})
			return
		}
		release, ok := a.admit(w)
		if !ok {
			return
		}
		defer release()
		a.setWriteDeadline(w)
		if err := r.ParseForm(); err != nil {
			writeError(w, badData("parse form: %v", err))
			return
		}
		if aerr := a.checkExprs(r); aerr != nil {
			writeError(w, aerr)
			return
		}
		data, aerr := fn(r)
		if aerr != nil {
			if aerr.typ == errInternal {
				a.opts.Logger.Error("query API", "path", r.URL.Path, "err", aerr.err)
			}
			writeError(w, aerr)
			return
		}
		if res, ok := data.(*result); ok {
			writeData(w, res.data, res.annos, res.query)
			if qd, ok := res.data.(queryData); ok {
				a.results.put(qd.Result) // written: the bytes are free
			}
			return
		}
		writeData(w, data, nil, "")
	})
}

// queryContext applies the optional timeout and max_source_resolution
// parameters.
func queryContext(r *http.Request) (context.Context, context.CancelFunc, *apiError) {
	ctx := r.Context()
	if v := r.FormValue("max_source_resolution"); v != "" {
		res, aerr := resolutionParam(v)
		if aerr != nil {
			return nil, nil, aerr
		}
		ctx = query.WithMaxSourceResolution(ctx, res)
	}
	if v := r.FormValue("timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, nil, badData("invalid parameter \"timeout\": %v", err)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	return ctx, cancel, nil
}

// queryOpts reads the per-query lookback_delta.
func queryOpts(r *http.Request) (upstream.QueryOpts, *apiError) {
	var lookback time.Duration
	if v := r.FormValue("lookback_delta"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, badData("invalid parameter \"lookback_delta\": %v", err)
		}
		lookback = d
	}
	return upstream.NewPrometheusQueryOpts(false, lookback, nil), nil
}

func (a *API) instantQuery(r *http.Request) (any, *apiError) {
	ts, aerr := timeParam(r, "time", a.opts.Now().UnixMilli())
	if aerr != nil {
		return nil, aerr
	}
	opts, aerr := queryOpts(r)
	if aerr != nil {
		return nil, aerr
	}
	ctx, cancel, aerr := queryContext(r)
	if aerr != nil {
		return nil, aerr
	}
	defer cancel()
	qs := r.FormValue("query")
	q, err := a.opts.Engine.NewInstantQuery(ctx, a.opts.Queryable, opts, qs, time.UnixMilli(ts))
	if err != nil {
		return nil, a.prepareError(err)
	}
	return a.exec(ctx, q, qs)
}

func (a *API) rangeQuery(r *http.Request) (any, *apiError) {
	rs, aerr := rangeParams(r)
	if aerr != nil {
		return nil, aerr
	}
	opts, aerr := queryOpts(r)
	if aerr != nil {
		return nil, aerr
	}
	ctx, cancel, aerr := queryContext(r)
	if aerr != nil {
		return nil, aerr
	}
	defer cancel()
	qs := r.FormValue("query")
	q, err := a.opts.Engine.NewRangeQuery(ctx, a.opts.Queryable, opts, qs,
		time.UnixMilli(rs.start), time.UnixMilli(rs.end), time.Duration(rs.step)*time.Millisecond)
	if err != nil {
		return nil, a.prepareError(err)
	}
	return a.exec(ctx, q, qs)
}

func requiredTime(r *http.Request, name string) (int64, *apiError) {
	if r.FormValue(name) == "" {
		return 0, badData("invalid parameter %q: missing", name)
	}
	return timeParam(r, name, 0)
}

// exec runs a prepared query; the request's context cancels it.
func (a *API) exec(ctx context.Context, q upstream.Query, qs string) (any, *apiError) {
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, classify(res.Err, a.opts.Engine.Options().MaxSamples)
	}
	// Close hands the result's point slices back to the engine for other
	// queries: the answer is encoded before it.
	return &result{
		data:  queryData{ResultType: res.Value.Type(), Result: appendValue(a.results.get(), res.Value)},
		annos: res.Warnings,
		query: qs,
	}, nil
}

// prepareError types an error from preparing a query: the parser's errors
// are bad_data (they carry the position); waiting for a slot can time out
// or be cancelled.
func (a *API) prepareError(err error) *apiError {
	var (
		pe  parser.ParseErrors
		pe1 *parser.ParseErr
	)
	if errors.As(err, &pe) || errors.As(err, &pe1) {
		return badData("invalid parameter \"query\": %v", err)
	}
	return classify(err, a.opts.Engine.Options().MaxSamples)
}

func (a *API) formatQuery(r *http.Request) (any, *apiError) {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return nil, badData("invalid parameter \"query\": %v", err)
	}
	return expr.Pretty(0), nil
}

func (a *API) buildInfo(*http.Request) (any, *apiError) { return a.opts.BuildInfo, nil }
