package promql

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

func TestDepthBound(t *testing.T) {
	for q, want := range map[string]int{
		`up`:                                  1,
		`up + up`:                             2,
		`up + up * up - up`:                   4,
		`sum by (job) (rate(up{a!="b"}[5m]))`: 4,
		`clamp(up + up, 1 + 1, 2)`:            3,
		`-up`:                                 2,
		`up{a="b", c=~"d", e!~"f"}`:           2,
		`(up`:                                 2, // unbalanced: the parser reports it
		`up)`:                                 1,
		`"unterminated`:                       1,
	} {
		require.Equal(t, want, depthBound(q, math.MaxInt), q)
	}
	// The scan stops once past the limit.
	require.Equal(t, 11, depthBound(chain(1000), 10))
}

// astDepth is the depth of the syntax tree of e.
func astDepth(e parser.Expr) int {
	deepest := 0
	parser.Inspect(e, func(_ parser.Node, path []parser.Node) error {
		deepest = max(deepest, len(path)+1)
		return nil
	})
	return deepest
}

// FuzzDepthBound checks that the lexer's estimate never panics and, for
// every expression that parses, bounds the depth of its syntax tree within
// a factor of two (a range or subquery bracket after a parenthesis adds a
// node the scan does not see as nesting): the bound refuses every tree deep
// enough to be costly.
func FuzzDepthBound(f *testing.F) {
	for _, q := range []string{
		`up`, `up + up * on(job) group_left(a) up`, `sum by (job) (rate(up[5m]))`,
		`max_over_time((up)[5m:1m] offset 1m)`, `-(-(-up))`, `up{a="b",c!~"d"}`,
		`histogram_quantile(0.9, sum(rate(x_bucket[5m])) by (le))`, `1 + 2 ^ 3 ^ 4`,
		`up @ start()`, `abs((((up))))`, `label_replace(up, "a", "$1", "b", "(.*)")`,
		`up[5m+1m]`, `{"utf8.name"}`, `# comment
up`,
	} {
		f.Add(q)
	}
	p := parser.NewParser(parser.Options{Functions: nativeFunctions(true)})
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 4096 {
			return // the parser is quadratic on deep input; short ones find the same cases
		}
		bound := depthBound(q, math.MaxInt)
		expr, err := p.ParseExpr(q)
		if err != nil {
			return
		}
		if d := astDepth(expr); d > 2*bound {
			t.Fatalf("%q: tree depth %d, bound %d", q, d, bound)
		}
	})
}

// BenchmarkCheckExpr measures the bounds check on expressions of the
// largest accepted length: the cost every query pays before parsing.
func BenchmarkCheckExpr(b *testing.B) {
	a, err := NewAPI(APIOptions{Engine: newEngine(b, EngineOptions{}), Queryable: emptyQueryable})
	require.NoError(b, err)
	group := "(" + chain(DefaultMaxQueryDepth/2) + ")"
	var sb strings.Builder
	for sb.Len()+len(group)+1 <= DefaultMaxQueryLength {
		if sb.Len() > 0 {
			sb.WriteByte('+')
		}
		sb.WriteString(group)
	}
	for name, q := range map[string]string{
		"chains":     sb.String(),
		"long_regex": `up{a=~"` + strings.Repeat("x|", DefaultMaxQueryLength/2-8) + `"}`,
		"grafana":    `sum by (instance) (rate(http_requests_total{job="api", instance=~"a|b|c"}[5m]))`,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if aerr := a.checkExpr("query", q); aerr != nil {
					b.Fatal(aerr)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(q)), "ns/byte")
		})
	}
}
