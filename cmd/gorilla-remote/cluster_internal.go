package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// The internal endpoints are what the nodes of a cluster ask each other
// (docs/cluster.md). They serve the node's own head only: a write is
// appended here, never passed on; a read answers from memory here, the
// bucket being read by the node asked by the user. They exist only in
// cluster mode, behind the same web configuration as every route.
const (
	internalPrefix = "/internal/v1/"
	internalPush   = internalPrefix + "push"
	internalRead   = internalPrefix + "read"
)

// internalAPIPaths are the query API endpoints served under /internal/v1/
// as under /api/v1/, over the local head.
var internalAPIPaths = []string{"labels", "label/", "metadata", "query_exemplars"}

// handlerReg labels the metrics of the request handlers registered with reg
// in cluster mode, handler="public" or "internal", so that the public and
// internal remote-write and remote-read handlers register side by side.
// Without cluster mode it returns reg.
func (srv *server) handlerReg(reg prometheus.Registerer, which string) prometheus.Registerer {
	if srv.cluster == nil {
		return reg
	}
	return prometheus.WrapRegistererWith(prometheus.Labels{"handler": which}, reg)
}

// internalWriteHandler builds the remote-write handler of
// /internal/v1/push over app: the distributor that sent the request has
// checked the tenant's limits, so only the head's own series limits apply.
func (srv *server) internalWriteHandler(app remote.Appendable, reg prometheus.Registerer) (http.Handler, error) {
	none, err := limits.NewOverrides(limits.Limits{}, "")
	if err != nil {
		return nil, fmt.Errorf("internal remote-write handler: %w", err)
	}
	write, err := remote.NewWriteHandler(app, remote.WriteOptions{
		Registerer: srv.handlerReg(reg, "internal"), Logger: srv.log, MaxDecodedBytes: srv.s.MaxDecodedBytes,
		MaxInflight: srv.s.MaxInflightWrites, Limits: none,
	})
	if err != nil {
		return nil, fmt.Errorf("internal remote-write handler: %w", err)
	}
	return write, nil
}

// internalHandler builds the internal endpoints of tenant id over its
// head h alone (with the tombstones tombs): write serves
// /internal/v1/push, remote read and the query API the rest.
func (srv *server) internalHandler(id string, write http.Handler, h *head.Head, tombs *query.Tombstones, reg prometheus.Registerer) (http.Handler, error) {
	q := query.New(h, query.WithLogger(srv.log), query.WithTombstones(tombs))
	read, err := remote.NewReadHandler(q, remote.ReadOptions{
		Registerer: srv.handlerReg(reg, "internal"), Logger: srv.log, MaxSamplesPerQuery: srv.s.MaxSamplesRead,
		WriteTimeout: srv.s.WriteTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("internal remote-read handler: %w", err)
	}
	// Labels, values, metadata and exemplars evaluate no PromQL: the
	// engine is there because the API needs one, and registers nothing.
	eng, err := promql.NewEngine(promql.EngineOptions{LookbackDelta: srv.s.LookbackDelta, Timeout: srv.s.QueryTimeout, Logger: srv.log})
	if err != nil {
		return nil, fmt.Errorf("internal query API: %w", err)
	}
	ov := srv.limits.Load().overrides
	api, err := promql.NewAPI(promql.APIOptions{
		Engine:         eng,
		Queryable:      query.LimitSeries(q, func() int { return ov.For(id).MaxQuerySeries }),
		Metadata:       h,
		Exemplars:      h,
		BuildInfo:      srv.build.api(),
		Logger:         srv.log,
		MaxInflight:    srv.s.QueryMaxInflight,
		MaxQueryLength: srv.s.QueryMaxLength,
		WriteTimeout:   srv.s.WriteTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("internal query API: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+internalPush, write)
	mux.Handle("POST "+internalRead, read)
	asPublic := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/api/v1/" + strings.TrimPrefix(r.URL.Path, internalPrefix)
		r2.URL.RawPath = ""
		api.ServeHTTP(w, r2)
	})
	for _, p := range internalAPIPaths {
		mux.Handle(internalPrefix+p, asPublic)
	}
	return mux, nil
}

// serveInternal serves /internal/v1/*: with the stack of the node (503
// until the storage is ready), or with tenancy the stack of the tenant of
// X-Scope-OrgID, as the public data endpoints are dispatched.
func (srv *server) serveInternal(w http.ResponseWriter, r *http.Request) {
	if !srv.ready.Load() {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "gorilla-remote is not ready: replaying the write-ahead log.", http.StatusServiceUnavailable)
		return
	}
	if t := srv.multi.Load(); t != nil {
		t.serveInternal(w, r)
		return
	}
	h := srv.internal.Load()
	if h == nil {
		http.Error(w, "gorilla-remote is not ready", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// serveInternal is ServeHTTP for the internal endpoints: the tenant of
// X-Scope-OrgID, a single one (a federated read is the asking node's to
// split), its stack opened on first use.
func (t *tenants) serveInternal(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(tenant.Header)
	if id == "" {
		http.Error(w, "no tenant: the request must name its tenant in the "+tenant.Header+" header", http.StatusUnauthorized)
		return
	}
	if st := t.stackOf(w, id); st != nil {
		st.internal.ServeHTTP(w, r.WithContext(tenant.WithID(r.Context(), id)))
	}
}

// openInternal builds the internal endpoints of the stack of env over its
// head h.
func (srv *server) openInternal(env stackEnv, h *head.Head, tombs *query.Tombstones) (http.Handler, error) {
	write := env.internalWrite
	if write == nil {
		var err error
		if write, err = srv.internalWriteHandler(appendable{h}, env.reg); err != nil {
			return nil, err
		}
	}
	return srv.internalHandler(env.id, write, h, tombs, env.reg)
}
