package promql

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// Admin is the store's side of the TSDB admin API (docs/admin.md). Its
// errors are answered 500 (errorType internal), except a cancelled ctx.
type Admin interface {
	// Snapshot checkpoints the store and records a copy of it from which
	// it can be restored, and returns the copy's name. skipHead leaves the
	// data in memory out of the copy.
	Snapshot(ctx context.Context, skipHead bool) (string, error)
	// DeleteSeries deletes, durably and before it returns, the samples in
	// [mint, maxt] of every series matching all matchers of one of the
	// sets; reads leave them out from then on.
	DeleteSeries(ctx context.Context, sets [][]*labels.Matcher, mint, maxt int64) error
	// CleanTombstones drops the deleted samples from memory.
	CleanTombstones(ctx context.Context) error
}

// errAdminDisabled is the answer, as Prometheus words it, when the admin
// API is off.
var errAdminDisabled = errors.New("admin APIs disabled")

// adminRoutes adds the admin endpoints to the API's mux. They answer as
// Prometheus's do: POST or PUT, 204 with no body on success (the snapshot
// answers its name), 503 unavailable when APIOptions.Admin is nil.
func (a *API) adminRoutes() {
	routes := map[string]func(*http.Request) (any, *apiError){
		"/api/v1/admin/tsdb/snapshot":         a.snapshot,
		"/api/v1/admin/tsdb/delete_series":    a.deleteSeries,
		"/api/v1/admin/tsdb/clean_tombstones": a.cleanTombstones,
	}
	for path, fn := range routes {
		a.mux.Handle(path, a.wrapAdmin(fn))
	}
}

// wrapAdmin checks the method and that the admin API is on, admits the
// request (MaxInflight), parses the form and runs fn: a nil answer is 204.
func (a *API) wrapAdmin(fn func(*http.Request) (any, *apiError)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			writeJSON(w, http.StatusMethodNotAllowed, response{Status: "error", ErrorType: errBadData, Error: "method " + r.Method + " not allowed"})
			return
		}
		if a.opts.Admin == nil {
			writeError(w, &apiError{errUnavailable, errAdminDisabled})
			return
		}
		release, ok := a.admit(w)
		if !ok {
			return
		}
		defer release()
		if err := r.ParseForm(); err != nil {
			writeError(w, badData("error parsing form values: %v", err))
			return
		}
		if aerr := a.checkExprs(r); aerr != nil {
			writeError(w, aerr)
			return
		}
		data, aerr := fn(r)
		if aerr != nil {
			if aerr.typ == errInternal {
				a.opts.Logger.Error("admin API", "path", r.URL.Path, "err", aerr.err)
			}
			writeError(w, aerr)
			return
		}
		// Every change an operator makes is logged, with what it named.
		a.opts.Logger.Info("admin API", "path", r.URL.Path, "match", r.Form["match[]"],
			"start", r.FormValue("start"), "end", r.FormValue("end"))
		if data == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeData(w, data, nil, "")
	})
}

// adminError types an error of the store.
func adminError(err error) *apiError {
	if errors.Is(err, context.Canceled) {
		return &apiError{errCanceled, err}
	}
	return &apiError{errInternal, err}
}

func (a *API) snapshot(r *http.Request) (any, *apiError) {
	skipHead := false
	if v := r.FormValue("skip_head"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badData("unable to parse boolean 'skip_head' argument: %v", err)
		}
		skipHead = b
	}
	name, err := a.opts.Admin.Snapshot(r.Context(), skipHead)
	if err != nil {
		return nil, adminError(err)
	}
	return struct {
		Name string `json:"name"`
	}{name}, nil
}

func (a *API) deleteSeries(r *http.Request) (any, *apiError) {
	sets, aerr := matchersParam(r, a.parser)
	if aerr != nil {
		return nil, aerr
	}
	if len(sets) == 0 {
		return nil, badData("no match[] parameter provided")
	}
	start, end, aerr := timeRange(r)
	if aerr != nil {
		return nil, aerr
	}
	if err := a.opts.Admin.DeleteSeries(r.Context(), sets, start, end); err != nil {
		return nil, adminError(err)
	}
	return nil, nil
}

func (a *API) cleanTombstones(r *http.Request) (any, *apiError) {
	if err := a.opts.Admin.CleanTombstones(r.Context()); err != nil {
		return nil, adminError(err)
	}
	return nil, nil
}
