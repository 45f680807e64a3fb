package promql

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// TestWriteQueryDataAsMarshal checks that the envelope written around an
// encoded result says what json.Marshal of the envelope says, warnings,
// infos and characters JSON escapes included.
func TestWriteQueryDataAsMarshal(t *testing.T) {
	m := upstream.Matrix{
		{Metric: labels.FromStrings("__name__", "x", "path", `/a?b=<c>&d="e"`), Floats: []upstream.FPoint{{T: 1500, F: 2.5}}},
		{Metric: labels.FromStrings("__name__", "y\u2028z"), Floats: []upstream.FPoint{{T: 3000, F: -1}}},
	}
	cases := []struct {
		v            parser.Value
		warns, infos []string
	}{
		{v: m},
		{v: m, warns: []string{`PromQL warning: <x> & "y"`}, infos: []string{"info one", "info two"}},
		{v: upstream.Vector{}, infos: []string{"only infos"}},
		{v: upstream.Scalar{T: 1000, V: 3}},
		{v: upstream.String{T: 1000, V: "s"}},
	}
	for _, c := range cases {
		qd := queryData{ResultType: c.v.Type(), Result: appendValue(nil, c.v)}
		fast := httptest.NewRecorder()
		writeQueryData(fast, qd, c.warns, c.infos)
		slow := httptest.NewRecorder()
		writeJSON(slow, 200, response{Status: "success", Data: qd, Warnings: c.warns, Infos: c.infos})
		require.Equal(t, slow.Code, fast.Code)
		require.Equal(t, slow.Header().Get("Content-Type"), fast.Header().Get("Content-Type"))
		var got, want any
		require.NoError(t, json.Unmarshal(fast.Body.Bytes(), &got), fast.Body.String())
		require.NoError(t, json.Unmarshal(slow.Body.Bytes(), &want))
		require.Equal(t, want, got)
	}
}
