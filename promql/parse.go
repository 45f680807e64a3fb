package promql

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/prometheus/promql/parser"
)

// parseQuery answers /api/v1/parse_query with the expression's syntax
// tree in the JSON shape Prometheus's web UI and PromLens read: one
// object per node, told apart by "type".
func (a *API) parseQuery(r *http.Request) (any, *apiError) {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return nil, badData("invalid parameter \"query\": %v", err)
	}
	return astNode(expr), nil
}

type jsonMatcher struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

type jsonFunc struct {
	Name       string             `json:"name"`
	ArgTypes   []parser.ValueType `json:"argTypes"`
	Variadic   int                `json:"variadic"`
	ReturnType parser.ValueType   `json:"returnType"`
}

type jsonMatching struct {
	Card    string   `json:"card"`
	Labels  []string `json:"labels"`
	On      bool     `json:"on"`
	Include []string `json:"include"`
}

// astNode turns one node (and its children) into JSON-ready maps.
func astNode(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.AggregateExpr:
		return map[string]any{
			"type": "aggregation", "op": n.Op.String(), "expr": astNode(n.Expr),
			"param": astNode(n.Param), "grouping": nonNil(n.Grouping), "without": n.Without,
		}
	case *parser.BinaryExpr:
		var m *jsonMatching
		if vm := n.VectorMatching; vm != nil {
			m = &jsonMatching{Card: vm.Card.String(), Labels: nonNil(vm.MatchingLabels), On: vm.On, Include: nonNil(vm.Include)}
		}
		return map[string]any{
			"type": "binaryExpr", "op": n.Op.String(), "lhs": astNode(n.LHS), "rhs": astNode(n.RHS),
			"matching": m, "bool": n.ReturnBool,
		}
	case *parser.Call:
		args := make([]any, 0, len(n.Args))
		for _, arg := range n.Args {
			args = append(args, astNode(arg))
		}
		return map[string]any{
			"type": "call", "args": args,
			"func": jsonFunc{Name: n.Func.Name, ArgTypes: n.Func.ArgTypes, Variadic: n.Func.Variadic, ReturnType: n.Func.ReturnType},
		}
	case *parser.MatrixSelector:
		vs, ok := n.VectorSelector.(*parser.VectorSelector)
		if !ok {
			return map[string]any{"type": "matrixSelector", "range": n.Range.Milliseconds()}
		}
		out := selectorNode("matrixSelector", vs)
		out["range"] = n.Range.Milliseconds()
		return out
	case *parser.VectorSelector:
		return selectorNode("vectorSelector", n)
	case *parser.SubqueryExpr:
		return map[string]any{
			"type": "subquery", "expr": astNode(n.Expr), "range": n.Range.Milliseconds(),
			"offset": n.OriginalOffset.Milliseconds(), "step": n.Step.Milliseconds(),
			"timestamp": n.Timestamp, "startOrEnd": startOrEnd(n.StartOrEnd),
		}
	case *parser.NumberLiteral:
		return map[string]any{"type": "numberLiteral", "val": strconv.FormatFloat(n.Val, 'f', -1, 64)}
	case *parser.StringLiteral:
		return map[string]any{"type": "stringLiteral", "val": n.Val}
	case *parser.ParenExpr:
		return map[string]any{"type": "parenExpr", "expr": astNode(n.Expr)}
	case *parser.UnaryExpr:
		return map[string]any{"type": "unaryExpr", "op": n.Op.String(), "expr": astNode(n.Expr)}
	case *parser.StepInvariantExpr:
		return astNode(n.Expr)
	default:
		return map[string]any{"type": fmt.Sprintf("%T", e), "expr": e.String()}
	}
}

func selectorNode(typ string, vs *parser.VectorSelector) map[string]any {
	ms := make([]jsonMatcher, 0, len(vs.LabelMatchers))
	for _, m := range vs.LabelMatchers {
		ms = append(ms, jsonMatcher{Type: m.Type.String(), Name: m.Name, Value: m.Value})
	}
	return map[string]any{
		"type": typ, "name": vs.Name, "offset": vs.OriginalOffset.Milliseconds(),
		"matchers": ms, "timestamp": vs.Timestamp, "startOrEnd": startOrEnd(vs.StartOrEnd),
	}
}

func startOrEnd(t parser.ItemType) any {
	switch t {
	case parser.START:
		return "start"
	case parser.END:
		return "end"
	}
	return nil
}

// nonNil encodes a missing list as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
