package promql

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"time"

	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// The PromQL functions gorilla-remote adds (docs/analytics.md).
//
// The upstream engine hands a function with a range-vector argument one
// series at a time, and evaluates any other argument as a scalar: no
// native function can see two series' windows together. So:
//
//   - autocorrelation_over_time needs one series and is a native function,
//     registered in upstream.FunctionCalls.
//   - pearson_correlation_over_time(x[r:s], y[r:s]) is known to the front
//     parser only, and Engine.expand rewrites it, before the upstream
//     engine parses the query, into standard PromQL over subqueries:
//     r = (var(x+y) - var(x) - var(y)) / (2·sd(x)·sd(y)), every term over
//     the steps where both sides have a finite value.
const (
	fnAutocorrelation = "autocorrelation_over_time"
	fnPearson         = "pearson_correlation_over_time"
)

// nativeFunctions returns a clone of the upstream function table with the
// functions the engine evaluates itself; withMacros adds those that
// Engine.expand rewrites away, for the parser the API and the front use.
func nativeFunctions(withMacros bool) map[string]*parser.Function {
	fns := maps.Clone(parser.Functions)
	fns[fnAutocorrelation] = &parser.Function{
		Name:       fnAutocorrelation,
		ArgTypes:   []parser.ValueType{parser.ValueTypeMatrix, parser.ValueTypeScalar},
		ReturnType: parser.ValueTypeVector,
	}
	if withMacros {
		fns[fnPearson] = &parser.Function{
			Name:       fnPearson,
			ArgTypes:   []parser.ValueType{parser.ValueTypeMatrix, parser.ValueTypeMatrix},
			ReturnType: parser.ValueTypeVector,
		}
	}
	return fns
}

// registerOnce guards upstream.FunctionCalls, a package map of the
// upstream engine that is not safe for concurrent writes.
var registerOnce sync.Once

// registerFunctionCalls adds the native functions' implementations. It
// runs before the first engine exists, so no query reads the map then.
func registerFunctionCalls() {
	registerOnce.Do(func() {
		upstream.FunctionCalls[fnAutocorrelation] = funcAutocorrelationOverTime
	})
}

// funcAutocorrelationOverTime is autocorrelation_over_time(v, lag): the
// sample ACF at lag (in samples) of each series' float samples in the
// window. Histogram samples are ignored; an undefined ACF gives no point.
func funcAutocorrelationOverTime(vals []upstream.Vector, m upstream.Matrix, args parser.Expressions, enh *upstream.EvalNodeHelper) (upstream.Vector, annotations.Annotations) {
	if len(m) == 0 || len(m[0].Floats) == 0 {
		return enh.Out, nil
	}
	lag := vals[0][0].F
	if lag < 1 || lag != math.Trunc(lag) || lag > math.MaxInt32 {
		var annos annotations.Annotations
		annos.Add(fmt.Errorf("%w: %s: lag must be a whole number of samples ≥ 1, got %v", annotations.PromQLWarning, fnAutocorrelation, lag))
		return enh.Out, annos
	}
	xs := make([]float64, len(m[0].Floats))
	for i, p := range m[0].Floats {
		xs[i] = p.F
	}
	r, ok := autocorrelation(xs, int(lag))
	if !ok {
		return enh.Out, nil
	}
	return append(enh.Out, upstream.Sample{F: r}), nil
}

// NewInstantQuery is the upstream method after expand. ts is clamped to
// the years the engine can evaluate at, 1678 to 2262 (see evalTime).
func (e *Engine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts upstream.QueryOpts, qs string, ts time.Time) (upstream.Query, error) {
	qs, err := e.expand(qs)
	if err != nil {
		return nil, err
	}
	ts = evalTimeOf(ts)
	if sq, err := e.newSharded(ctx, q, opts, qs, ts, ts, 0); sq != nil || err != nil {
		return sq, err
	}
	return e.Engine.NewInstantQuery(ctx, q, opts, qs, ts)
}

// NewRangeQuery is the upstream method after expand. start and end are
// clamped as in NewInstantQuery.
func (e *Engine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts upstream.QueryOpts, qs string, start, end time.Time, step time.Duration) (upstream.Query, error) {
	qs, err := e.expand(qs)
	if err != nil {
		return nil, err
	}
	start, end = evalTimeOf(start), evalTimeOf(end)
	if sq, err := e.newSharded(ctx, q, opts, qs, start, end, step); sq != nil || err != nil {
		return sq, err
	}
	return e.Engine.NewRangeQuery(ctx, q, opts, qs, start, end, step)
}

// expand checks the arguments of our functions and rewrites the calls the
// upstream engine cannot evaluate. A query without them comes back
// unchanged. Errors are the parser's (parser.ParseErrors) or, for
// arguments, a *parser.ParseErr.
func (e *Engine) expand(qs string) (string, error) {
	// Function names are case-sensitive: most queries skip a second parse.
	if !strings.Contains(qs, fnPearson) && !strings.Contains(qs, fnAutocorrelation) {
		return qs, nil
	}
	expr, err := e.front.ParseExpr(qs)
	if err != nil {
		return "", err
	}
	var (
		changed bool
		perr    error
	)
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		call, ok := n.(*parser.Call)
		if !ok || perr != nil {
			return nil
		}
		switch call.Func.Name {
		case fnAutocorrelation:
			perr = checkLag(call)
		case fnPearson:
			var repl parser.Expr
			if repl, perr = e.pearsonExpr(call); perr == nil {
				// The replacement is a call too: overwrite in place, and
				// Inspect goes on into its arguments.
				*call = *repl.(*parser.Call)
				changed = true
			}
		}
		return nil
	})
	if perr != nil {
		var pe *parser.ParseErr
		if errors.As(perr, &pe) {
			pe.Query = qs
		}
		return "", perr
	}
	if !changed {
		return qs, nil
	}
	return expr.String(), nil
}

// checkLag rejects a literal lag that is not a whole number ≥ 1.
func checkLag(call *parser.Call) error {
	lit, ok := unparen(call.Args[1]).(*parser.NumberLiteral)
	if !ok || (lit.Val >= 1 && lit.Val == math.Trunc(lit.Val) && lit.Val <= math.MaxInt32) {
		return nil
	}
	return &parser.ParseErr{
		PositionRange: call.Args[1].PositionRange(),
		Err:           fmt.Errorf("%s: lag must be a whole number of samples ≥ 1, got %v", fnAutocorrelation, lit.Val),
	}
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// window splits a range-vector argument into the instant expression
// evaluated at each step and the subquery suffix ([r:s] @ t offset o).
func window(arg parser.Expr) (inner, suffix string, err error) {
	switch a := unparen(arg).(type) {
	case *parser.SubqueryExpr:
		return a.Expr.String(), a.ShortString(), nil
	case *parser.MatrixSelector:
		// x[r] becomes x[r:]: the default subquery resolution aligns both
		// sides to the same steps. The selector keeps its own @ and offset.
		sq := &parser.SubqueryExpr{Range: a.Range, RangeExpr: a.RangeExpr}
		return a.VectorSelector.String(), sq.ShortString(), nil
	}
	return "", "", &parser.ParseErr{
		PositionRange: arg.PositionRange(),
		Err:           fmt.Errorf("%s: expected a range selector or a subquery, got %s", fnPearson, arg.Type()),
	}
}

// pearsonExpr builds the standard PromQL for pearson_correlation_over_time.
// x and y keep only finite values at steps where the other side has one,
// pairing series by their labels without the metric name (the default
// vector matching); clamp absorbs rounding just outside [-1, 1], and the
// "> 0" filters drop windows where either side is constant or has fewer
// than two points.
func (e *Engine) pearsonExpr(call *parser.Call) (parser.Expr, error) {
	xi, xs, err := window(call.Args[0])
	if err != nil {
		return nil, err
	}
	yi, ys, err := window(call.Args[1])
	if err != nil {
		return nil, err
	}
	if xs != ys {
		return nil, &parser.ParseErr{
			PositionRange: call.PositionRange(),
			Err:           fmt.Errorf("%s: both arguments need the same range, step and modifiers, got %s and %s", fnPearson, xs, ys),
		}
	}
	fx := fmt.Sprintf("((%s) < Inf > -Inf)", xi)
	fy := fmt.Sprintf("((%s) < Inf > -Inf)", yi)
	x := fmt.Sprintf("(%s and %s)", fx, fy)
	y := fmt.Sprintf("(%s and %s)", fy, fx)
	varOf := func(e string) string { return fmt.Sprintf("stdvar_over_time((%s)%s)", e, xs) }
	vx, vy := varOf(x), varOf(y)
	q := fmt.Sprintf("clamp((%s - %s - %s) / 2 / sqrt(%s > 0) / sqrt(%s > 0), -1, 1)",
		varOf(x+" + "+y), vx, vy, vx, vy)
	repl, err := e.front.ParseExpr(q)
	if err != nil {
		return nil, fmt.Errorf("BUG: %s rewrite does not parse: %w", fnPearson, err)
	}
	return repl, nil
}
