package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// tenantLabel is the label a federated query adds to every series with
// the id of the tenant it comes from, as Mimir's tenant federation does.
const tenantLabel = "__tenant_id__"

// federatedTenant is the tenant label value of the metrics of the
// federated query engine: "|" is in no tenant id.
const federatedTenant = "|"

// federatedIDs splits a header value naming many tenants ("a|b") into
// its ids, sorted and without repeats, each checked by tenant.Validate.
func federatedIDs(header string) ([]string, error) {
	ids := strings.Split(header, "|")
	for _, id := range ids {
		if err := tenant.Validate(id); err != nil {
			return nil, fmt.Errorf("tenant %q of %q: %w", id, header, err)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// serveFederated serves a query naming many tenants in its header: the
// query API over the union of their data, each series labelled
// __tenant_id__. Writes, remote read and the admin API take one tenant
// only (400).
func (t *tenants) serveFederated(w http.ResponseWriter, r *http.Request, header string) {
	ids, err := federatedIDs(header)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := r.URL.Path
	if p == "/api/v1/write" || p == "/api/v1/read" || strings.HasPrefix(p, "/api/v1/admin/") {
		http.Error(w, p+" takes one tenant; "+tenant.Header+" names "+fmt.Sprint(len(ids)), http.StatusBadRequest)
		return
	}
	select {
	case t.fedInflight <- struct{}{}:
		defer func() { <-t.fedInflight }()
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many federated queries at once (--query.max-inflight)", http.StatusServiceUnavailable)
		return
	}
	stacks := make([]*stack, 0, len(ids))
	for _, id := range ids {
		st, err := t.get(id)
		if err != nil {
			http.Error(w, "open the tenant's storage: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		stacks = append(stacks, st)
	}
	fed := federation(stacks)
	srv := t.srv
	api, err := promql.NewAPI(promql.APIOptions{
		Engine: t.engine, Queryable: fed, Metadata: fed, Exemplars: fed, HeadStats: fed.headStats,
		BuildInfo: srv.build.api(), Status: srv.status(stacks[0].head), Logger: srv.log,
		MaxQueryLength: srv.s.QueryMaxLength, WriteTimeout: srv.s.WriteTimeout,
	})
	if err != nil {
		http.Error(w, "federated query API: "+err.Error(), http.StatusInternalServerError)
		return
	}
	api.ServeHTTP(w, r)
}

// federation is the union of some tenants' data.
type federation []*stack

// Querier merges the tenants' queriers, each adding __tenant_id__.
func (f federation) Querier(mint, maxt int64) (storage.Querier, error) {
	qs := make([]storage.Querier, 0, len(f))
	for _, st := range f {
		q, err := st.read.Querier(mint, maxt)
		if err != nil {
			for _, o := range qs {
				o.Close()
			}
			return nil, fmt.Errorf("querier of tenant %s: %w", st.id, err)
		}
		qs = append(qs, tenantQuerier{q: q, id: st.id})
	}
	return storage.NewMergeQuerier(qs, nil, storage.ChainedSeriesMerge), nil
}

// Metadata is the union of the tenants' metadata; for a family several
// tenants describe, the first tenant's by id.
func (f federation) Metadata() map[string]model.Metadata {
	out := map[string]model.Metadata{}
	for i := len(f) - 1; i >= 0; i-- {
		maps.Copy(out, f[i].head.Metadata())
	}
	return out
}

// Exemplars is the union of the tenants' exemplars, each series labelled
// __tenant_id__.
func (f federation) Exemplars(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]model.SeriesExemplars, error) {
	var out []model.SeriesExemplars
	var b labels.Builder
	for _, st := range f {
		rest, ok := tenantQuerier{id: st.id}.split(ms)
		if !ok {
			continue
		}
		es, err := st.head.Exemplars(ctx, mint, maxt, rest...)
		if err != nil {
			return nil, fmt.Errorf("exemplars of tenant %s: %w", st.id, err)
		}
		for _, e := range es {
			b.Reset(e.Labels)
			b.Set(tenantLabel, st.id)
			out = append(out, model.SeriesExemplars{Labels: b.Labels(), Exemplars: e.Exemplars})
		}
	}
	return out, nil
}

// headStats sums the tenants' head totals.
func (f federation) headStats() promql.HeadStats {
	var hs promql.HeadStats
	for i, st := range f {
		s := st.head.Stats()
		hs.Series += s.Series
		hs.Chunks += s.Chunks
		hs.Samples += s.Samples
		if i == 0 || s.MinTime < hs.MinTime {
			hs.MinTime = s.MinTime
		}
		hs.MaxTime = max(hs.MaxTime, s.MaxTime)
	}
	return hs
}

// tenantQuerier is one tenant's querier in a federated query: it answers
// the matchers on __tenant_id__ itself and adds the label to every series.
type tenantQuerier struct {
	q  storage.Querier
	id string
}

// split returns the matchers but those on __tenant_id__, and whether
// those match the querier's tenant.
func (tq tenantQuerier) split(ms []*labels.Matcher) ([]*labels.Matcher, bool) {
	rest := make([]*labels.Matcher, 0, len(ms))
	for _, m := range ms {
		if m.Name != tenantLabel {
			rest = append(rest, m)
		} else if !m.Matches(tq.id) {
			return nil, false
		}
	}
	return rest, true
}

func (tq tenantQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	rest, ok := tq.split(ms)
	if !ok {
		return storage.EmptySeriesSet()
	}
	if len(rest) == 0 {
		// Only __tenant_id__ was given: every series of the tenant.
		rest = []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")}
	}
	return &tenantSeriesSet{SeriesSet: tq.q.Select(ctx, sortSeries, hints, rest...), id: tq.id}
}

func (tq tenantQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	rest, ok := tq.split(ms)
	if !ok {
		return nil, nil, nil
	}
	if name == tenantLabel {
		return []string{tq.id}, nil, nil
	}
	return tq.q.LabelValues(ctx, name, hints, rest...)
}

func (tq tenantQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	rest, ok := tq.split(ms)
	if !ok {
		return nil, nil, nil
	}
	names, ws, err := tq.q.LabelNames(ctx, hints, rest...)
	if err != nil {
		return nil, ws, err
	}
	if i, found := slices.BinarySearch(names, tenantLabel); !found {
		names = slices.Insert(names, i, tenantLabel)
	}
	return names, ws, nil
}

func (tq tenantQuerier) Close() error { return tq.q.Close() }

// tenantSeriesSet adds __tenant_id__ to every series of a set.
type tenantSeriesSet struct {
	storage.SeriesSet
	id string
	b  labels.Builder
}

func (s *tenantSeriesSet) At() storage.Series {
	ser := s.SeriesSet.At()
	s.b.Reset(ser.Labels())
	s.b.Set(tenantLabel, s.id)
	return tenantSeries{Series: ser, lset: s.b.Labels()}
}

// tenantSeries is a series with its labels replaced.
type tenantSeries struct {
	storage.Series
	lset labels.Labels
}

func (s tenantSeries) Labels() labels.Labels { return s.lset }
