package promql

import (
	"math"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Prometheus's API writes "unbounded" as these times (its MinTime and
// MaxTime formatted in RFC 3339, with years the standard parser refuses);
// clients such as promtool and Thanos send them back.
const (
	promMinTime = "-292273086-05-16T16:47:06Z"
	promMaxTime = "292277025-08-18T07:12:54.999999999Z"
)

// TestUnboundedTimes: the largest times clients send for "all time" reach
// every sample, whatever their spelling.
func TestUnboundedTimes(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	bounds := [][2]string{
		{promMinTime, promMaxTime},
		{"-9223372036854775.808", "9223372036854775.807"}, // int64 milliseconds, in seconds
		{"-1e18", "1e18"},
		{"-4611686018427387.904", "4611686018427387.903"}, // the accepted range
	}
	for _, b := range bounds {
		for path, want := range map[string]string{
			"/api/v1/series":                `[{"__name__":"temperature","room":"kitchen"}]`,
			"/api/v1/labels":                `["__name__","room"]`,
			"/api/v1/label/__name__/values": `["temperature"]`,
		} {
			code, body := get(t, srv, path, url.Values{"match[]": {"temperature"}, "start": {b[0]}, "end": {b[1]}})
			require.Equal(t, http.StatusOK, code, "%s %v: %s", path, b, body)
			require.JSONEq(t, `{"status":"success","data":`+want+`}`, body, "%s %v", path, b)
		}
	}
}

// TestQueriesAtTheEdgesOfTime: queries at the far ends of time evaluate at
// the nearest time the engine can hold instead of at a wrapped-around one.
func TestQueriesAtTheEdgesOfTime(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	for _, tc := range []struct{ query, time, want string }{
		// The engine evaluates up to the year 2262.
		{`1+1`, promMaxTime, `{"resultType":"scalar","result":[9223372036.854,"2"]}`},
		{`1+1`, promMinTime, `{"resultType":"scalar","result":[-9223372036.854,"2"]}`},
		{`1+1`, "1e18", `{"resultType":"scalar","result":[9223372036.854,"2"]}`},
		{`1+1`, "1e13", `{"resultType":"scalar","result":[9223372036.854,"2"]}`},
		{`1+1`, "-1e13", `{"resultType":"scalar","result":[-9223372036.854,"2"]}`},
		{`temperature`, promMinTime, `{"resultType":"vector","result":[]}`},
		{`temperature @ 600`, promMaxTime,
			`{"resultType":"vector","result":[{"metric":{"__name__":"temperature","room":"kitchen"},"value":[9223372036.854,"21.5"]}]}`},
		{`count_over_time(temperature[200y])`, "600", `{"resultType":"vector","result":[{"metric":{"room":"kitchen"},"value":[600,"41"]}]}`},
	} {
		code, body := get(t, srv, "/api/v1/query", url.Values{"query": {tc.query}, "time": {tc.time}})
		require.Equal(t, http.StatusOK, code, "%s at %s: %s", tc.query, tc.time, body)
		require.JSONEq(t, `{"status":"success","data":`+tc.want+`}`, body, "%s at %s", tc.query, tc.time)
	}
}

func TestParseTimeClamps(t *testing.T) {
	for in, want := range map[string]int64{
		promMinTime:             model.MinTime,
		promMaxTime:             model.MaxTime,
		"-1e300":                model.MinTime,
		"1e300":                 model.MaxTime,
		"4611686018427387.903":  model.MaxTime,
		"4611686018427387.904":  model.MaxTime,
		"-4611686018427387.905": model.MinTime,
		"4":                     4000,
		"-1.25":                 -1250,
		"1970-01-01T00:00:04Z":  4000,
	} {
		got, err := parseTime(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"NaN", "Inf", "-Inf", "yesterday"} {
		_, err := parseTime(in)
		require.Error(t, err, in)
	}
	require.Equal(t, int64(math.MaxInt64)/2, model.MaxTime, "the bounds the API always used for no bound")
}

func TestRangeQueryAtTheEdgesOfTime(t *testing.T) {
	srv := newTestAPI(t, EngineOptions{})
	code, body := get(t, srv, "/api/v1/query_range", url.Values{
		"query": {`1+1`}, "start": {"9223372036"}, "end": {promMaxTime}, "step": {"1"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[9223372036,"2"]]}]}}`, body)
	code, body = get(t, srv, "/api/v1/query_range", url.Values{
		"query": {`1+1`}, "start": {promMinTime}, "end": {promMaxTime}, "step": {"15"},
	})
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "11,000 points")
}
