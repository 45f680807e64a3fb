package promql

import (
	"context"
	"net/http"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// ExemplarQuerier returns the exemplars kept for the series matching ms in
// [mint, maxt], sorted by series labels.
type ExemplarQuerier interface {
	Exemplars(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]model.SeriesExemplars, error)
}

// exemplarsJSON encodes query_exemplars data as Prometheus does: series
// labels, then each exemplar's labels, value as a string and timestamp as
// float seconds.
type exemplarsJSON []model.SeriesExemplars

func (e exemplarsJSON) MarshalJSON() ([]byte, error) {
	return appendList(nil, e, func(b []byte, se model.SeriesExemplars) []byte {
		b = append(b, `{"seriesLabels":`...)
		b = appendLabels(b, se.Labels)
		b = append(b, `,"exemplars":`...)
		b = appendList(b, se.Exemplars, func(b []byte, ex model.Exemplar) []byte {
			b = append(b, `{"labels":`...)
			b = appendLabels(b, ex.Labels)
			b = append(b, `,"value":"`...)
			b = appendFloat(b, ex.V)
			b = append(b, `","timestamp":`...)
			b = appendTimestamp(b, ex.T)
			return append(b, '}')
		})
		return append(b, '}')
	}), nil
}

// queryExemplars answers /api/v1/query_exemplars: the exemplars of every
// series selected anywhere in the query, over [start, end].
func (a *API) queryExemplars(r *http.Request) (any, *apiError) {
	start, end, aerr := timeRange(r)
	if aerr != nil {
		return nil, aerr
	}
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return nil, badData("invalid parameter \"query\": %v", err)
	}
	out := exemplarsJSON{}
	if a.opts.Exemplars == nil {
		return out, nil
	}
	ctx, cancel, aerr := queryContext(r)
	if aerr != nil {
		return nil, aerr
	}
	defer cancel()
	// A series picked by several selectors is listed once.
	seen := map[uint64][]labels.Labels{}
	for _, ms := range parser.ExtractSelectors(expr) {
		found, err := a.opts.Exemplars.Exemplars(ctx, start, end, ms...)
		if err != nil {
			return nil, classify(err, 0)
		}
		for _, se := range found {
			h := se.Labels.Hash()
			if containsLabels(seen[h], se.Labels) {
				continue
			}
			seen[h] = append(seen[h], se.Labels)
			out = append(out, se)
		}
	}
	return out, nil
}

func containsLabels(list []labels.Labels, ls labels.Labels) bool {
	for _, l := range list {
		if labels.Equal(l, ls) {
			return true
		}
	}
	return false
}
