package promql

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// errTruncated is the warning added when limit cut a list short.
var errTruncated = errors.New("results truncated due to limit")

func (a *API) series(r *http.Request) (any, *apiError) {
	sel, aerr := a.selectionParams(r)
	if aerr != nil {
		return nil, aerr
	}
	if len(sel.sets) == 0 {
		return nil, badData("no match[] parameter provided")
	}
	sets, start, end, limit := sel.sets, sel.start, sel.end, sel.limit
	q, err := a.opts.Queryable.Querier(start, end)
	if err != nil {
		return nil, &apiError{errInternal, err}
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: start, End: end, Func: "series"}
	if limit > 0 {
		hints.Limit = limit + 1 // one more tells whether to warn
	}
	ss := make([]storage.SeriesSet, 0, len(sets))
	for _, ms := range sets {
		// Sorted so that several match[] sets merge without duplicates.
		ss = append(ss, q.Select(r.Context(), len(sets) > 1, hints, ms...))
	}
	set := ss[0]
	if len(ss) > 1 {
		set = storage.NewMergeSeriesSet(ss, 0, storage.ChainedSeriesMerge)
	}
	out := []labels.Labels{}
	var annos annotations.Annotations
	for set.Next() {
		if limit > 0 && len(out) == limit {
			annos.Add(errTruncated)
			break
		}
		out = append(out, set.At().Labels())
	}
	if err := set.Err(); err != nil {
		return nil, classify(err, 0)
	}
	annos.Merge(set.Warnings())
	return &result{data: out, annos: annos}, nil
}

func (a *API) labelNames(r *http.Request) (any, *apiError) {
	return a.labelList(r, func(q storage.Querier, h *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(r.Context(), h, ms...)
	})
}

func (a *API) labelValues(r *http.Request) (any, *apiError) {
	name := r.PathValue("name")
	// Names that are not valid legacy names arrive escaped (U__ prefix),
	// as Prometheus clients send them.
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.LabelName(name).IsValid() {
		return nil, badData("invalid label name: %q", name)
	}
	return a.labelList(r, func(q storage.Querier, h *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(r.Context(), name, h, ms...)
	})
}

type labelLister func(storage.Querier, *storage.LabelHints, []*labels.Matcher) ([]string, annotations.Annotations, error)

// labelList answers labels and label values: the union over every
// match[] set (or over all series without one), sorted, cut at limit.
func (a *API) labelList(r *http.Request, list labelLister) (any, *apiError) {
	sel, aerr := a.selectionParams(r)
	if aerr != nil {
		return nil, aerr
	}
	sets, limit := sel.sets, sel.limit
	q, err := a.opts.Queryable.Querier(sel.start, sel.end)
	if err != nil {
		return nil, &apiError{errInternal, err}
	}
	defer q.Close()
	hints := &storage.LabelHints{}
	if limit > 0 {
		hints.Limit = limit + 1
	}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	out := []string{}
	var annos annotations.Annotations
	for _, ms := range sets {
		vals, ws, err := list(q, hints, ms)
		if err != nil {
			return nil, classify(err, 0)
		}
		annos.Merge(ws)
		out = append(out, vals...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
		annos.Add(errTruncated)
	}
	return &result{data: out, annos: annos}, nil
}
