package promql

import (
	"net/http"

	"github.com/prometheus/prometheus/promql/parser"
)

// Bounds of the expressions the API accepts (APIOptions).
//
// The upstream parser and engine do work proportional to the size of an
// expression times its depth before the query timeout starts: the parser
// types every binary operator by walking its operands, and Exec renders the
// whole statement as a string. A 600 KB chain such as up+up+...+up kept a
// core busy for minutes and could not be cancelled. Refusing an expression
// longer than MaxQueryLength bytes or nested deeper than MaxQueryDepth
// levels keeps that work below about a second on one core; real queries,
// even generated ones with long regular expressions, stay far inside both.
const (
	DefaultMaxQueryLength = 256 << 10
	DefaultMaxQueryDepth  = 1000
)

// exprParams are the form parameters that hold PromQL: the expressions
// of query, query_range, format_query, parse_query and query_exemplars,
// the two sides of /api/v1/correlate, and the series selectors. A new
// endpoint taking an expression under another name adds it here.
var exprParams = []string{"query", "x", "y", "match[]"}

// checkExprs applies checkExpr to every value of every expression
// parameter of a parsed form.
func (a *API) checkExprs(r *http.Request) *apiError {
	for _, name := range exprParams {
		for _, qs := range r.Form[name] {
			if aerr := a.checkExpr(name, qs); aerr != nil {
				return aerr
			}
		}
	}
	return nil
}

// checkExpr applies the length and depth bounds to qs, the value of the
// parameter name. It reads qs once, with the lexer: nothing on this path
// grows faster than the length of qs.
func (a *API) checkExpr(name, qs string) *apiError {
	if len(qs) > a.opts.MaxQueryLength {
		return badData("invalid parameter %q: expression of %d bytes, more than the limit of %d bytes (--query.max-length)",
			name, len(qs), a.opts.MaxQueryLength)
	}
	if depthBound(qs, a.opts.MaxQueryDepth) > a.opts.MaxQueryDepth {
		return badData("invalid parameter %q: expression nested deeper than %d levels (each operator of a chain such as a+b+c counts as one level, as does each bracket)",
			name, a.opts.MaxQueryDepth)
	}
	return nil
}

// depthBound returns an upper bound of the depth of the syntax tree of qs,
// found in one pass of the lexer; it stops as soon as the bound passes
// limit. Each open bracket (parenthesis, call, subquery, selector braces)
// is one level, and each operator adds one level to the bracket it is in,
// since a chain of n operators is a tree of depth n. A comma starts a
// sibling, so it gives back the levels of the argument before it. Inside
// braces the matchers' operators are not expressions and do not count.
//
// A malformed query ends the scan where the lexer fails; the parser then
// reports the error with its position.
func depthBound(qs string, limit int) int {
	type bracket struct {
		ops   int  // operators seen at this level since its last comma
		brace bool // label matchers, not expressions
	}
	stack := []bracket{{}}
	ops, deepest := 0, 1
	lex := parser.Lex(qs)
	var it parser.Item
	for deepest <= limit {
		lex.NextItem(&it)
		top := &stack[len(stack)-1]
		switch typ := it.Typ; {
		case typ == parser.EOF || typ == parser.ERROR:
			return deepest
		case typ == parser.LEFT_PAREN || typ == parser.LEFT_BRACKET:
			stack = append(stack, bracket{})
		case typ == parser.LEFT_BRACE:
			stack = append(stack, bracket{brace: true})
		case typ == parser.RIGHT_PAREN || typ == parser.RIGHT_BRACKET || typ == parser.RIGHT_BRACE:
			if len(stack) > 1 {
				ops -= top.ops
				stack = stack[:len(stack)-1]
			}
		case typ == parser.COMMA:
			ops -= top.ops
			top.ops = 0
		case typ.IsOperator() && !top.brace:
			top.ops++
			ops++
		}
		deepest = max(deepest, ops+len(stack))
	}
	return deepest
}
