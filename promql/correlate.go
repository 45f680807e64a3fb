package promql

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/annotations"
)

// /api/v1/correlate and /api/v1/autocorrelation evaluate their
// expressions as range queries, put each series on the step grid
// (start, start+step, ..., end; NaN where a step has no finite value) and
// hand the grids to stats.go. docs/analytics.md documents both answers.

// Bounds of the analytics parameters.
const (
	defaultMaxLag = 10
	maxLagLimit   = 1000
	maxWindow     = 1000
	// maxListed is how many unmatched series the warnings name.
	maxListed = 10
)

// grid is one series' values on the step grid of a range query.
type grid struct {
	metric labels.Labels
	vals   []float64
}

// intParam reads an integer parameter in [lo, hi], def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, *apiError) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badData("invalid parameter %q: %q is not an integer in [%d, %d]", name, v, lo, hi)
	}
	return n, nil
}

// evalGrids runs qs as a range query and returns its series as grids.
// Histogram samples are skipped: the statistics are over floats.
func (a *API) evalGrids(ctx context.Context, r *http.Request, param string, rs rangeSpec) ([]grid, annotations.Annotations, *apiError) {
	qs := r.FormValue(param)
	if qs == "" {
		return nil, nil, badData("invalid parameter %q: missing", param)
	}
	opts, aerr := queryOpts(r)
	if aerr != nil {
		return nil, nil, aerr
	}
	q, err := a.opts.Engine.NewRangeQuery(ctx, a.opts.Queryable, opts, qs,
		time.UnixMilli(rs.start), time.UnixMilli(rs.end), time.Duration(rs.step)*time.Millisecond)
	if err != nil {
		if aerr := a.prepareError(err); aerr.typ != errBadData {
			return nil, nil, aerr
		}
		return nil, nil, badData("invalid parameter %q: %v", param, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, nil, classify(res.Err, a.opts.Engine.Options().MaxSamples)
	}
	m, ok := res.Value.(upstream.Matrix)
	if !ok {
		return nil, nil, badData("invalid parameter %q: expected a range vector result, got %s", param, res.Value.Type())
	}
	n := rs.points()
	out := make([]grid, 0, len(m))
	for _, s := range m {
		g := grid{metric: s.Metric, vals: nanGrid(n)}
		for _, p := range s.Floats {
			if i := (p.T - rs.start) / rs.step; p.T >= rs.start && i < int64(n) && (p.T-rs.start)%rs.step == 0 {
				g.vals[i] = p.F
			}
		}
		out = append(out, g)
	}
	return out, res.Warnings, nil
}

func nanGrid(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// pair is an x and a y series to correlate.
type pair struct{ x, y grid }

// pairSeries applies the matching rule: one series on each side are a
// pair whatever their labels; otherwise series pair up when their label
// sets without __name__ are equal. Series left alone come back as
// warnings; a label set present twice on one side is an error.
func pairSeries(xs, ys []grid) ([]pair, annotations.Annotations, *apiError) {
	if len(xs) == 1 && len(ys) == 1 {
		return []pair{{xs[0], ys[0]}}, nil, nil
	}
	byKey := func(gs []grid, param string) (map[string]grid, *apiError) {
		m := make(map[string]grid, len(gs))
		for _, g := range gs {
			k := g.metric.DropMetricName().String()
			if _, dup := m[k]; dup {
				return nil, badData("invalid parameter %q: more than one series with the labels %s (without __name__)", param, k)
			}
			m[k] = g
		}
		return m, nil
	}
	xm, aerr := byKey(xs, "x")
	if aerr != nil {
		return nil, nil, aerr
	}
	ym, aerr := byKey(ys, "y")
	if aerr != nil {
		return nil, nil, aerr
	}
	var (
		pairs            []pair
		lonelyX, lonelyY []string
	)
	for k, x := range xm {
		if y, ok := ym[k]; ok {
			pairs = append(pairs, pair{x, y})
		} else {
			lonelyX = append(lonelyX, k)
		}
	}
	for k := range ym {
		if _, ok := xm[k]; !ok {
			lonelyY = append(lonelyY, k)
		}
	}
	slices.SortFunc(pairs, func(p, q pair) int { return labels.Compare(p.x.metric, q.x.metric) })
	var annos annotations.Annotations
	unmatchedWarning(&annos, "x", "y", lonelyX)
	unmatchedWarning(&annos, "y", "x", lonelyY)
	return pairs, annos, nil
}

func unmatchedWarning(annos *annotations.Annotations, side, other string, keys []string) {
	if len(keys) == 0 {
		return
	}
	slices.Sort(keys)
	total, more := len(keys), ""
	if len(keys) > maxListed {
		more = fmt.Sprintf(" and %d more", len(keys)-maxListed)
		keys = keys[:maxListed]
	}
	annos.Add(fmt.Errorf("%w: %s: %d series without a partner in %s (same labels without __name__), left out: %v%s",
		annotations.PromQLWarning, side, total, other, keys, more))
}

// commonLabels are the labels x and y share with equal values, without
// __name__: all of them when the pair was matched by labels.
func commonLabels(x, y labels.Labels) labels.Labels {
	b := labels.NewScratchBuilder(x.Len())
	x.Range(func(l labels.Label) {
		if l.Name != labels.MetricName && y.Get(l.Name) == l.Value {
			b.Add(l.Name, l.Value)
		}
	})
	return b.Labels()
}

// correlate answers /api/v1/correlate.
func (a *API) correlate(r *http.Request) (any, *apiError) {
	rs, aerr := rangeParams(r)
	if aerr != nil {
		return nil, aerr
	}
	m := corrMethod(r.FormValue("method"))
	switch m {
	case "":
		m = methodPearson
	case methodPearson, methodSpearman:
	default:
		return nil, badData("invalid parameter \"method\": %q is not pearson or spearman", m)
	}
	window, aerr := intParam(r, "window", 0, 2, min(maxWindow, rs.points()))
	if aerr != nil {
		return nil, aerr
	}
	ctx, cancel, aerr := queryContext(r)
	if aerr != nil {
		return nil, aerr
	}
	defer cancel()
	xs, annos, aerr := a.evalGrids(ctx, r, "x", rs)
	if aerr != nil {
		return nil, aerr
	}
	ys, yannos, aerr := a.evalGrids(ctx, r, "y", rs)
	if aerr != nil {
		return nil, aerr
	}
	annos.Merge(yannos)
	pairs, pannos, aerr := pairSeries(xs, ys)
	if aerr != nil {
		return nil, aerr
	}
	annos.Merge(pannos)
	out := corrData{Method: m, Window: window, Pairs: make([]corrPair, 0, len(pairs))}
	var buf corrBuf
	for _, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, classify(err, 0)
		}
		out.Pairs = append(out.Pairs, correlatePair(&buf, m, p, window, rs))
	}
	return &result{data: out, annos: annos}, nil
}

// correlatePair computes one pair's coefficient and rolling series.
func correlatePair(buf *corrBuf, m corrMethod, p pair, window int, rs rangeSpec) corrPair {
	cp := corrPair{
		Metric: jsonLabels(commonLabels(p.x.metric, p.y.metric)),
		X:      jsonLabels(p.x.metric),
		Y:      jsonLabels(p.y.metric),
	}
	r, n, ok := buf.coefficient(m, p.x.vals, p.y.vals)
	cp.Points = n
	switch {
	case ok:
		cp.Coefficient = (*jsonFloat)(&r)
	case n < 2:
		cp.Reason = "fewer than 2 aligned points"
	default:
		cp.Reason = "x or y is constant over the aligned points"
	}
	if window > 0 {
		s := upstream.Series{Metric: labels.Labels(cp.Metric), Floats: []upstream.FPoint{}}
		buf.rolling(m, p.x.vals, p.y.vals, window, func(i int, r float64, _ int) {
			s.Floats = append(s.Floats, upstream.FPoint{T: rs.start + int64(i)*rs.step, F: r})
		})
		cp.Rolling = (*jsonSeries)(&s)
	}
	return cp
}

// autocorrelationAPI answers /api/v1/autocorrelation.
func (a *API) autocorrelationAPI(r *http.Request) (any, *apiError) {
	rs, aerr := rangeParams(r)
	if aerr != nil {
		return nil, aerr
	}
	maxLag, aerr := intParam(r, "max_lag", min(defaultMaxLag, rs.points()-1), 1, min(maxLagLimit, rs.points()-1))
	if aerr != nil {
		return nil, aerr
	}
	if maxLag < 1 {
		return nil, badData("invalid parameter \"step\": the range holds a single step, autocorrelation needs at least 2")
	}
	ctx, cancel, aerr := queryContext(r)
	if aerr != nil {
		return nil, aerr
	}
	defer cancel()
	gs, annos, aerr := a.evalGrids(ctx, r, "query", rs)
	if aerr != nil {
		return nil, aerr
	}
	out := acfData{MaxLag: maxLag, Series: make([]acfSeries, 0, len(gs))}
	for _, g := range gs {
		if err := ctx.Err(); err != nil {
			return nil, classify(err, 0)
		}
		s := acfSeries{Metric: jsonLabels(g.metric), ACF: []acfPoint{}}
		for _, v := range g.vals {
			if finite(v) {
				s.Points++
			}
		}
		for lag := 1; lag <= maxLag; lag++ {
			if r, ok := autocorrelation(g.vals, lag); ok {
				s.ACF = append(s.ACF, acfPoint{lag, r})
			}
		}
		out.Series = append(out.Series, s)
	}
	return &result{data: out, annos: annos, query: r.FormValue("query")}, nil
}

// corrData is the data of a /api/v1/correlate answer.
type corrData struct {
	Method corrMethod `json:"method"`
	Window int        `json:"window,omitempty"`
	Pairs  []corrPair `json:"pairs"`
}

// corrPair is one pair's answer. Coefficient is absent, and Reason says
// why, when the coefficient is undefined.
type corrPair struct {
	Metric      jsonLabels  `json:"metric"`
	X           jsonLabels  `json:"x"`
	Y           jsonLabels  `json:"y"`
	Coefficient *jsonFloat  `json:"coefficient,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Points      int         `json:"points"`
	Rolling     *jsonSeries `json:"rolling,omitempty"`
}

// acfData is the data of a /api/v1/autocorrelation answer.
type acfData struct {
	MaxLag int         `json:"maxLag"`
	Series []acfSeries `json:"series"`
}

// acfSeries holds one series' autocorrelation as [lag,"value"] pairs,
// leaving out the lags where it is undefined.
type acfSeries struct {
	Metric jsonLabels `json:"metric"`
	Points int        `json:"points"`
	ACF    []acfPoint `json:"acf"`
}

type acfPoint struct {
	lag int
	v   float64
}

func (p acfPoint) MarshalJSON() ([]byte, error) {
	b := append(strconv.AppendInt([]byte{'['}, int64(p.lag), 10), ',', '"')
	b = appendFloat(b, p.v)
	return append(b, '"', ']'), nil
}

// jsonLabels encodes a label set as the Prometheus API does.
type jsonLabels labels.Labels

func (l jsonLabels) MarshalJSON() ([]byte, error) { return appendLabels(nil, labels.Labels(l)), nil }

// jsonFloat encodes a value as a string, as Prometheus values are.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	return append(appendFloat([]byte{'"'}, float64(f)), '"'), nil
}

// jsonSeries encodes one series of a matrix result.
type jsonSeries upstream.Series

func (s *jsonSeries) MarshalJSON() ([]byte, error) {
	return appendSeries(nil, upstream.Series(*s)), nil
}
