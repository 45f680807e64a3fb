package promql

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

type matrixAnswer struct {
	Data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

func TestAutocorrelationOverTime(t *testing.T) {
	srv := newAnalyticsAPI(t)
	// wave[150s] at 600 holds the 10 samples 465..600: -1, +1, ..., +1.
	code, body := get(t, srv, "/api/v1/query", url.Values{"query": {`autocorrelation_over_time(wave[150s], 1)`}, "time": {"600"}})
	require.Equal(t, http.StatusOK, code, body)
	ans := decode[matrixAnswer](t, body)
	require.Len(t, ans.Data.Result, 1, body)
	require.Equal(t, map[string]string{}, ans.Data.Result[0].Metric)
	nearString(t, ans.Data.Result[0].Value[1].(string), -0.9)

	// Through query_range as Grafana asks, with a lag from an expression.
	code, body = post(t, srv, "/api/v1/query_range", url.Values{
		"query": {`autocorrelation_over_time(wave[150s], 1 + 1)`}, "start": {"300"}, "end": {"600"}, "step": {"60"},
	})
	require.Equal(t, http.StatusOK, code, body)
	ans = decode[matrixAnswer](t, body)
	require.Len(t, ans.Data.Result, 1, body)
	require.Len(t, ans.Data.Result[0].Values, 6)
	for _, v := range ans.Data.Result[0].Values {
		nearString(t, v[1].(string), 0.8) // 8 pairs of equal signs over 10 squares
	}

	// A constant series has no autocorrelation: no point, no error.
	code, body = get(t, srv, "/api/v1/query", url.Values{"query": {`autocorrelation_over_time(y{pair="d"}[5m], 1)`}, "time": {"600"}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"vector","result":[]}}`, body)

	// A lag computed at run time that is not valid: a warning, no point.
	code, body = get(t, srv, "/api/v1/query", url.Values{"query": {`autocorrelation_over_time(wave[5m], 0.5 * 1)`}, "time": {"600"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "lag must be a whole number")
}

func TestPearsonCorrelationOverTime(t *testing.T) {
	srv := newAnalyticsAPI(t)
	for _, q := range []string{
		`pearson_correlation_over_time(x[5m:15s], y[5m:15s])`,
		`pearson_correlation_over_time(x[5m], y[5m])`,   // [5m:]: the default 1m step
		`pearson_correlation_over_time(x[5m:], y[5m:])`, // which also stops a nil dereference
	} {
		code, body := get(t, srv, "/api/v1/query_range", url.Values{"query": {q}, "start": {"300"}, "end": {"600"}, "step": {"60"}})
		require.Equal(t, http.StatusOK, code, body)
		ans := decode[matrixAnswer](t, body)
		// Pairs a (+1) and b (-1); c has no y, d is constant.
		require.Len(t, ans.Data.Result, 2, body)
		for i, want := range []float64{1, -1} {
			r := ans.Data.Result[i]
			require.Equal(t, map[string]string{"pair": string(rune('a' + i))}, r.Metric)
			require.Len(t, r.Values, 6, q)
			for _, v := range r.Values {
				nearString(t, v[1].(string), want)
			}
		}
	}

	// Nested in an expression, against a value computed independently: y
	// against x² over 0, 15, ..., 120 (x = 0..8).
	xs, ys := make([]float64, 9), make([]float64, 9)
	for i := range xs {
		xs[i], ys[i] = float64(i), float64(i*i)
	}
	code, body := get(t, srv, "/api/v1/query", url.Values{
		"query": {`pearson_correlation_over_time(x{pair="a"}[121s:15s], (x{pair="a"} ^ 2)[121s:15s]) > 0.5`},
		"time":  {"120"},
	})
	require.Equal(t, http.StatusOK, code, body)
	ans := decode[matrixAnswer](t, body)
	require.Len(t, ans.Data.Result, 1, body)
	got, err := strconv.ParseFloat(ans.Data.Result[0].Value[1].(string), 64)
	require.NoError(t, err)
	require.InDelta(t, naivePearson(xs, ys), got, 1e-9)
}

func TestFunctionArgumentErrors(t *testing.T) {
	srv := newAnalyticsAPI(t)
	for _, c := range []struct{ query, want string }{
		{`autocorrelation_over_time(wave[5m], 0)`, "lag must be a whole number"},
		{`autocorrelation_over_time(wave[5m], 1.5)`, "lag must be a whole number"},
		{`autocorrelation_over_time(wave, 1)`, "expected type range vector"},
		{`pearson_correlation_over_time(x[5m], y[10m])`, "same range, step and modifiers"},
		{`pearson_correlation_over_time(x[5m:1m], y[5m:30s])`, "same range, step and modifiers"},
		{`pearson_correlation_over_time(x[5m])`, "expected 2 argument(s)"},
		{`pearson_correlation_over_time(x, y)`, "expected type range vector"},
	} {
		code, body := get(t, srv, "/api/v1/query", url.Values{"query": {c.query}, "time": {"600"}})
		require.Equal(t, http.StatusBadRequest, code, body)
		ans := decode[response](t, body)
		require.Equal(t, errBadData, ans.ErrorType, body)
		require.Contains(t, ans.Error, c.want, c.query)
		require.Contains(t, ans.Error, `invalid parameter "query"`, c.query)
	}
	// The API's own parser knows the functions too.
	code, body := get(t, srv, "/api/v1/format_query", url.Values{"query": {`pearson_correlation_over_time(x[5m:1m],y[5m:1m])`}})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":"pearson_correlation_over_time(x[5m:1m], y[5m:1m])"}`, body)
}
