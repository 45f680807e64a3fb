package promql

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// newAnalyticsAPI serves a head holding, every 15s from 0 to 600s
// (41 samples, i = 0..40):
//
//	x{pair="a"} = i   y{pair="a"} = 2i+3   (r = 1)
//	x{pair="b"} = i   y{pair="b"} = -i     (r = -1)
//	x{pair="c"} = i                        (no y: a warning)
//	x{pair="d"} = i   y{pair="d"} = 5      (constant: undefined)
//	wave = +1, -1, +1, ...
func newAnalyticsAPI(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	add := func(ls labels.Labels, f func(i float64) float64) {
		for i := int64(0); i <= 40; i++ {
			_, err := app.Append(0, ls, i*15000, f(float64(i)))
			require.NoError(t, err)
		}
	}
	id := func(i float64) float64 { return i }
	for _, p := range []string{"a", "b", "c", "d"} {
		add(labels.FromStrings("__name__", "x", "pair", p), id)
	}
	add(labels.FromStrings("__name__", "y", "pair", "a"), func(i float64) float64 { return 2*i + 3 })
	add(labels.FromStrings("__name__", "y", "pair", "b"), func(i float64) float64 { return -i })
	add(labels.FromStrings("__name__", "y", "pair", "d"), func(float64) float64 { return 5 })
	add(labels.FromStrings("__name__", "wave"), func(i float64) float64 { return 1 - 2*math.Mod(i, 2) })
	require.NoError(t, app.Commit())
	api, err := NewAPI(APIOptions{Engine: newEngine(t, EngineOptions{}), Queryable: query.New(h)})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

type corrAnswer struct {
	Status   string   `json:"status"`
	Warnings []string `json:"warnings"`
	Data     struct {
		Method string `json:"method"`
		Window int    `json:"window"`
		Pairs  []struct {
			Metric      map[string]string `json:"metric"`
			X, Y        map[string]string
			Coefficient *string `json:"coefficient"`
			Reason      string  `json:"reason"`
			Points      int     `json:"points"`
			Rolling     *struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"rolling"`
		} `json:"pairs"`
	} `json:"data"`
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v
}

func nearString(t *testing.T, s string, want float64) {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	require.InDelta(t, want, f, 1e-12, s)
}

func TestCorrelateSinglePair(t *testing.T) {
	srv := newAnalyticsAPI(t)
	for _, send := range []func(*testing.T, *httptest.Server, string, url.Values) (int, string){get, post} {
		// One series each side: paired although the names differ.
		code, body := send(t, srv, "/api/v1/correlate", url.Values{
			"x": {`x{pair="a"}`}, "y": {`y{pair="a"}`}, "start": {"0"}, "end": {"600"}, "step": {"15s"},
		})
		require.Equal(t, http.StatusOK, code, body)
		ans := decode[corrAnswer](t, body)
		require.Equal(t, "pearson", ans.Data.Method)
		require.Len(t, ans.Data.Pairs, 1)
		p := ans.Data.Pairs[0]
		require.Equal(t, map[string]string{"pair": "a"}, p.Metric)
		require.Equal(t, map[string]string{"__name__": "x", "pair": "a"}, p.X)
		require.Equal(t, 41, p.Points)
		require.NotNil(t, p.Coefficient, body)
		nearString(t, *p.Coefficient, 1)
		require.Nil(t, p.Rolling)
	}
}

func TestCorrelateMatchedPairs(t *testing.T) {
	srv := newAnalyticsAPI(t)
	code, body := post(t, srv, "/api/v1/correlate", url.Values{
		"x": {`x`}, "y": {`y ^ 3`}, "method": {"spearman"}, "start": {"0"}, "end": {"600"}, "step": {"30"},
	})
	require.Equal(t, http.StatusOK, code, body)
	ans := decode[corrAnswer](t, body)
	require.Equal(t, "spearman", ans.Data.Method)
	require.Len(t, ans.Data.Pairs, 3, body)
	want := []struct {
		pair string
		r    float64
	}{{"a", 1}, {"b", -1}, {"d", math.NaN()}}
	for i, w := range want {
		p := ans.Data.Pairs[i]
		require.Equal(t, map[string]string{"pair": w.pair}, p.Metric)
		require.Equal(t, 21, p.Points) // 0, 30, ..., 600
		if math.IsNaN(w.r) {
			require.Nil(t, p.Coefficient, body)
			require.Equal(t, "x or y is constant over the aligned points", p.Reason)
			continue
		}
		nearString(t, *p.Coefficient, w.r)
	}
	require.Len(t, ans.Warnings, 1, body)
	require.Contains(t, ans.Warnings[0], `{pair="c"}`)
	require.NotContains(t, body, "NaN")
}

func TestCorrelateRolling(t *testing.T) {
	srv := newAnalyticsAPI(t)
	// x{pair="a"} only after 300s, so the first windows hold < 2 points.
	code, body := get(t, srv, "/api/v1/correlate", url.Values{
		"x": {`x{pair="b"} and on() timestamp(x{pair="b"}) > 300`}, "y": {`y{pair="b"}`},
		"start": {"240"}, "end": {"600"}, "step": {"60"}, "window": {"3"},
	})
	require.Equal(t, http.StatusOK, code, body)
	ans := decode[corrAnswer](t, body)
	require.Len(t, ans.Data.Pairs, 1)
	p := ans.Data.Pairs[0]
	require.Equal(t, 3, ans.Data.Window)
	require.Equal(t, 5, p.Points) // 360 .. 600
	require.NotNil(t, p.Rolling)
	// Grid 240..600: windows ending at 240 and 300 hold no x, 360 one point.
	var ts []float64
	for _, v := range p.Rolling.Values {
		ts = append(ts, v[0].(float64))
		nearString(t, v[1].(string), -1)
	}
	require.Equal(t, []float64{420, 480, 540, 600}, ts)
	require.Equal(t, map[string]string{"pair": "b"}, p.Rolling.Metric)

	// Spearman over a window: y = x³ is monotonic, so every window is 1.
	code, body = post(t, srv, "/api/v1/correlate", url.Values{
		"x": {`x{pair="a"}`}, "y": {`x{pair="a"} ^ 3`}, "method": {"spearman"},
		"start": {"0"}, "end": {"600"}, "step": {"60"}, "window": {"4"},
	})
	require.Equal(t, http.StatusOK, code, body)
	ans = decode[corrAnswer](t, body)
	require.Len(t, ans.Data.Pairs[0].Rolling.Values, 10, body) // 60 .. 600
	for _, v := range ans.Data.Pairs[0].Rolling.Values {
		require.Equal(t, "1", v[1])
	}

	// Too few points overall (the samples end at 600 and a 30s lookback
	// does not reach 660): no coefficient, a reason, an empty rolling series.
	code, body = get(t, srv, "/api/v1/correlate", url.Values{
		"x": {`x{pair="a"}`}, "y": {`y{pair="a"}`}, "start": {"600"}, "end": {"660"}, "step": {"60"}, "window": {"2"},
		"lookback_delta": {"30s"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"method":"pearson","window":2,"pairs":[{
		"metric":{"pair":"a"},"x":{"__name__":"x","pair":"a"},"y":{"__name__":"y","pair":"a"},
		"reason":"fewer than 2 aligned points","points":1,
		"rolling":{"metric":{"pair":"a"},"values":[]}}]}}`, body)
}

func TestAutocorrelationAPI(t *testing.T) {
	srv := newAnalyticsAPI(t)
	code, body := post(t, srv, "/api/v1/autocorrelation", url.Values{
		"query": {`wave`}, "start": {"0"}, "end": {"600"}, "step": {"15"}, "max_lag": {"3"},
	})
	require.Equal(t, http.StatusOK, code, body)
	ans := decode[struct {
		Data struct {
			MaxLag int `json:"maxLag"`
			Series []struct {
				Metric map[string]string `json:"metric"`
				Points int               `json:"points"`
				ACF    [][2]any          `json:"acf"`
			} `json:"series"`
		} `json:"data"`
	}](t, body)
	require.Equal(t, 3, ans.Data.MaxLag)
	require.Len(t, ans.Data.Series, 1)
	s := ans.Data.Series[0]
	require.Equal(t, 41, s.Points)
	wave := make([]float64, 41)
	for i := range wave {
		wave[i] = float64(1 - 2*(i%2))
	}
	require.Len(t, s.ACF, 3)
	for i, p := range s.ACF {
		require.Equal(t, float64(i+1), p[0])
		nearString(t, p[1].(string), naiveACF(wave, i+1))
	}

	// Default max_lag is 10; a constant series has no defined lag.
	code, body = get(t, srv, "/api/v1/autocorrelation", url.Values{
		"query": {`y{pair="d"}`}, "start": {"0"}, "end": {"600"}, "step": {"60"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"maxLag":10,"series":[
		{"metric":{"__name__":"y","pair":"d"},"points":11,"acf":[]}]}}`, body)
}

func TestAnalyticsBadParameters(t *testing.T) {
	srv := newAnalyticsAPI(t)
	ok := url.Values{"x": {"x"}, "y": {"y"}, "query": {"wave"}, "start": {"0"}, "end": {"600"}, "step": {"60"}}
	with := func(k, v string) url.Values {
		p := url.Values{}
		for key, vs := range ok {
			p[key] = vs
		}
		if v == "" {
			p.Del(k)
		} else {
			p.Set(k, v)
		}
		return p
	}
	cases := []struct {
		path   string
		params url.Values
		param  string
	}{
		{"/api/v1/correlate", with("x", ""), `"x"`},
		{"/api/v1/correlate", with("y", "sum("), `"y"`},
		{"/api/v1/correlate", with("method", "kendall"), `"method"`},
		{"/api/v1/correlate", with("window", "1"), `"window"`},
		{"/api/v1/correlate", with("window", "12"), `"window"`}, // 11 steps
		{"/api/v1/correlate", with("window", "ten"), `"window"`},
		{"/api/v1/correlate", with("step", "0"), `"step"`},
		{"/api/v1/correlate", with("start", ""), `"start"`},
		{"/api/v1/correlate", with("end", "-1"), `"end"`},
		{"/api/v1/correlate", with("x", `{__name__=~"x|y"}`), `"x"`}, // x{pair="a"} and y{pair="a"} clash
		{"/api/v1/autocorrelation", with("query", ""), `"query"`},
		{"/api/v1/autocorrelation", with("max_lag", "0"), `"max_lag"`},
		{"/api/v1/autocorrelation", with("max_lag", "11"), `"max_lag"`},
		{"/api/v1/autocorrelation", with("end", "0"), `"step"`},
	}
	for _, c := range cases {
		for _, send := range []func(*testing.T, *httptest.Server, string, url.Values) (int, string){get, post} {
			code, body := send(t, srv, c.path, c.params)
			require.Equal(t, http.StatusBadRequest, code, body)
			ans := decode[response](t, body)
			require.Equal(t, errBadData, ans.ErrorType, body)
			require.Contains(t, ans.Error, "invalid parameter "+c.param, body)
		}
	}
}

func TestPairSeriesWarnings(t *testing.T) {
	var xs, ys []grid
	for i := range 12 {
		xs = append(xs, grid{metric: labels.FromStrings("__name__", "x", "i", strconv.Itoa(100+i))})
	}
	ys = append(ys, grid{metric: labels.FromStrings("__name__", "y", "i", "100")}, grid{metric: labels.FromStrings("i", "other")})
	pairs, annos, aerr := pairSeries(xs, ys)
	require.Nil(t, aerr)
	require.Len(t, pairs, 1)
	require.Equal(t, "100", pairs[0].y.metric.Get("i"))
	warns, _ := annos.AsStrings("", 0, 0)
	require.Len(t, warns, 2)
	slices.Sort(warns)
	require.Contains(t, warns[0], "x: 11 series without a partner in y")
	require.Contains(t, warns[0], `{i="110"}] and 1 more`)
	require.Contains(t, warns[1], `y: 1 series without a partner in x`)
}

// TestPearsonFunctionMatchesEndpoint checks that the PromQL rewrite and
// the endpoint agree on data that is not a straight line: the subquery
// [5m:60s] at 600 holds the steps 360..600.
func TestPearsonFunctionMatchesEndpoint(t *testing.T) {
	srv := newAnalyticsAPI(t)
	x, y := `x{pair="a"}`, `sin(x{pair="a"}) + x{pair="a"} / 10`
	code, body := get(t, srv, "/api/v1/correlate", url.Values{
		"x": {x}, "y": {y}, "start": {"360"}, "end": {"600"}, "step": {"60"},
	})
	require.Equal(t, http.StatusOK, code, body)
	ans := decode[corrAnswer](t, body)
	require.Len(t, ans.Data.Pairs, 1)
	require.Equal(t, 5, ans.Data.Pairs[0].Points)
	want, err := strconv.ParseFloat(*ans.Data.Pairs[0].Coefficient, 64)
	require.NoError(t, err)

	code, body = get(t, srv, "/api/v1/query", url.Values{
		"query": {"pearson_correlation_over_time(" + x + "[5m:60s], (" + y + ")[5m:60s])"}, "time": {"600"},
	})
	require.Equal(t, http.StatusOK, code, body)
	got := decode[matrixAnswer](t, body)
	require.Len(t, got.Data.Result, 1, body)
	nearString(t, got.Data.Result[0].Value[1].(string), want)
	require.Greater(t, math.Abs(want), 0.01)
	require.Less(t, math.Abs(want), 0.99)
}
