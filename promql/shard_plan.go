package promql

import (
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// A sharded query splits each aggregation whose input series are
// independent of one another (sum(rate(x[5m])), max by (i) (irate(g[1m]))) into
// one evaluation per shard of the input series, run at once on the
// engine's other cores, and aggregates the shards' answers again: the sum
// of the shards' sums, the max of their maxes. The upstream engine
// evaluates one query on one goroutine; the shards are what lets one big
// aggregation use more than one core. The rewrite keeps the results: the
// shards partition the input series, and the aggregations rewritten are
// those whose answer over a union is the same aggregation of the answers
// over the parts, and the shards' work per step (a window of samples per
// series) is well above that of aggregating their answers again. Sums
// add in another order, so the last bits of a float may differ.

const (
	// shardMetric prefixes the metric name of the selector that reads the
	// shards' answers of one aggregation in the rewritten query; the slot
	// number follows.
	shardMetric = "__gorilla_shard_result_"
	// shardLabel tells the shards' answer series apart: without it, the
	// answers of two shards for one group would have the same labels.
	shardLabel = "__gorilla_shard__"
)

// shardPlan is a query with its shardable aggregations cut out.
type shardPlan struct {
	// outer is the query with each shardable aggregation replaced by the
	// same aggregation (sum for count) of a selector of its slot's answers.
	outer string
	// inner are the aggregations cut out, by slot, each a query that the
	// shards evaluate over their part of the series.
	inner []string
}

// outerOps is what aggregates the shards' answers of each aggregation
// that can be sharded. Others (avg, topk, quantile, stddev, count_values,
// limitk) are not associative in this way, or keep the input's labels.
var outerOps = map[parser.ItemType]parser.ItemType{
	parser.SUM:   parser.SUM,
	parser.MIN:   parser.MIN,
	parser.MAX:   parser.MAX,
	parser.COUNT: parser.SUM,
	parser.GROUP: parser.GROUP,
}

// localFuncs are the functions whose answer for a series depends on that
// series alone (and on number literals): applied to a part of the series,
// they answer that part of the answer.
var localFuncs = map[string]bool{
	"rate": true, "irate": true, "increase": true, "delta": true, "idelta": true, "deriv": true,
	"resets": true, "changes": true, "avg_over_time": true, "min_over_time": true,
	"max_over_time": true, "sum_over_time": true, "count_over_time": true, "last_over_time": true,
	"present_over_time": true, "stddev_over_time": true, "stdvar_over_time": true,
	"quantile_over_time": true, "abs": true, "ceil": true, "floor": true, "exp": true, "ln": true,
	"log2": true, "log10": true, "sqrt": true, "sgn": true, "round": true, "clamp": true,
	"clamp_min": true, "clamp_max": true,
}

// planShards cuts the shardable aggregations out of expr, which it
// rewrites in place. It returns nil when expr has none.
func planShards(expr parser.Expr) *shardPlan {
	p := &shardPlan{}
	expr = p.walk(expr)
	if len(p.inner) == 0 {
		return nil
	}
	p.outer = expr.String()
	return p
}

// walk replaces the shardable aggregations under e that are evaluated at
// the query's own steps. It does not enter subqueries, whose steps differ,
// nor the parameters of aggregations.
func (p *shardPlan) walk(e parser.Expr) parser.Expr {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if r := p.cut(n); r != nil {
			return r
		}
		n.Expr = p.walk(n.Expr)
	case *parser.BinaryExpr:
		n.LHS, n.RHS = p.walk(n.LHS), p.walk(n.RHS)
	case *parser.Call:
		for i, a := range n.Args {
			n.Args[i] = p.walk(a)
		}
	case *parser.ParenExpr:
		n.Expr = p.walk(n.Expr)
	case *parser.UnaryExpr:
		n.Expr = p.walk(n.Expr)
	}
	return e
}

// cut returns the replacement of aggregation n and records n in a new
// slot, or returns nil when n cannot be sharded.
func (p *shardPlan) cut(n *parser.AggregateExpr) parser.Expr {
	op, ok := outerOps[n.Op]
	if !ok || n.Param != nil || !seriesLocal(n.Expr) || !overRange(n.Expr) {
		return nil
	}
	name := shardMetric + strconv.Itoa(len(p.inner))
	p.inner = append(p.inner, n.String())
	grouping := n.Grouping
	if n.Without {
		grouping = append(append([]string(nil), grouping...), shardLabel)
	}
	return &parser.AggregateExpr{
		Op: op,
		Expr: &parser.VectorSelector{
			Name:          name,
			LabelMatchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name)},
		},
		Grouping: grouping,
		Without:  n.Without,
	}
}

// overRange reports whether e reads a range of samples per series
// (rate(x[5m])). Only then is the work of a shard per step (a window of
// samples per series) well above that of aggregating the shards' answers
// again (one point per group and shard): an aggregation of plain samples
// (max by (instance) (x)), with as many groups as series, would cost
// twice its work sharded.
func overRange(e parser.Expr) bool {
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if _, ok := n.(*parser.MatrixSelector); ok {
			found = true
		}
		return nil
	})
	return found
}

// seriesLocal reports whether every series e answers depends on one input
// series alone: a selector, a local function of one, or one of those with
// a number literal.
func seriesLocal(e parser.Expr) bool {
	switch n := e.(type) {
	case *parser.VectorSelector:
		return true
	case *parser.ParenExpr:
		return seriesLocal(n.Expr)
	case *parser.UnaryExpr:
		return seriesLocal(n.Expr)
	case *parser.Call:
		if !localFuncs[n.Func.Name] {
			return false
		}
		series := 0
		for _, a := range n.Args {
			switch a := unparen(a).(type) {
			case *parser.NumberLiteral:
			case *parser.MatrixSelector:
				series++
			default:
				if !seriesLocal(a) {
					return false
				}
				series++
			}
		}
		return series == 1
	case *parser.BinaryExpr:
		if n.Op.IsSetOperator() {
			return false
		}
		_, lnum := unparen(n.LHS).(*parser.NumberLiteral)
		_, rnum := unparen(n.RHS).(*parser.NumberLiteral)
		switch {
		case lnum && !rnum:
			return seriesLocal(n.RHS)
		case rnum && !lnum:
			return seriesLocal(n.LHS)
		}
	}
	return false
}
