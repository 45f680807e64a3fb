//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// The data the UI tests write: over the last hour, one sample every 15s
// of ui_x{job="ui"} = i and ui_y{job="ui"} = 3i + 2, and two constant
// series of ui_temperature.
const (
	uiPoints   = 240
	uiInterval = 15 * time.Second
)

// uiServer starts the binary, writes the known data and returns its URL
// and the time of the last sample (Unix ms).
func uiServer(t *testing.T) (string, int64) {
	t.Helper()
	bin := buildServer(t)
	c := newHTTPClient(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startProcess(t, "gorilla-remote", bin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--storage.path="+t.TempDir())
	p.waitOK(t, c, base+"/-/ready", 30*time.Second)

	last := time.Now().Add(-time.Second).Truncate(time.Second).UnixMilli()
	first := last - int64(uiPoints-1)*uiInterval.Milliseconds()
	series := func(name string, lbls ...string) prompb.TimeSeries {
		ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}}}
		for i := 0; i < len(lbls); i += 2 {
			ts.Labels = append(ts.Labels, prompb.Label{Name: lbls[i], Value: lbls[i+1]})
		}
		return ts
	}
	x, y := series("ui_x", "job", "ui"), series("ui_y", "job", "ui")
	a, b := series("ui_temperature", "job", "ui", "room", "a"), series("ui_temperature", "job", "ui", "room", "b")
	for i := range uiPoints {
		ts := first + int64(i)*uiInterval.Milliseconds()
		x.Samples = append(x.Samples, prompb.Sample{Timestamp: ts, Value: float64(i)})
		y.Samples = append(y.Samples, prompb.Sample{Timestamp: ts, Value: 3*float64(i) + 2})
		a.Samples = append(a.Samples, prompb.Sample{Timestamp: ts, Value: 21.5})
		b.Samples = append(b.Samples, prompb.Sample{Timestamp: ts, Value: 19.25})
	}
	wr := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{x, y, a, b}}
	raw, err := wr.Marshal()
	require.NoError(t, err)
	code, _, msg := postWriteHeader(t, c, base+"/api/v1/write", snappy.Encode(nil, raw))
	require.Equal(t, http.StatusNoContent, code, "remote write: %s", msg)
	return base, last
}

func TestUI(t *testing.T) {
	base, last := uiServer(t)
	br := startBrowser(t)

	t.Run("graph", func(t *testing.T) {
		br.sub(t)
		br.open(base + "/query?" + url.Values{"expr": {"ui_x"}, "range": {"1h"}, "tab": {"graph"}}.Encode())
		br.waitFor(`return document.querySelector("#graph canvas") !== null || document.querySelector(".error") !== null`, "the graph")
		var legend []string
		br.eval(`return [...document.querySelectorAll("#graph .u-legend .u-series:not(:first-child) .u-label")].map(e => e.textContent)`, &legend)
		require.Equal(t, []string{`ui_x{job="ui"}`}, legend, "the graph's legend")
		// The line is drawn in the first series colour (#1f77b4): count
		// the canvas pixels of that colour.
		var drawn int
		br.eval(`const c = document.querySelector("#graph canvas");
			const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let n = 0;
			for (let i = 0; i < d.length; i += 4) if (d[i] === 31 && d[i+1] === 119 && d[i+2] === 180 && d[i+3] > 0) n++;
			return n;`, &drawn)
		if drawn < 100 {
			t.Fatalf("the graph of ui_x has %d pixels of the line's colour, want a drawn line (at least 100)", drawn)
		}
	})

	t.Run("table", func(t *testing.T) {
		br.sub(t)
		end := strconv.FormatInt(last/1000, 10)
		br.open(base + "/query?" + url.Values{"expr": {"ui_temperature"}, "end": {end}, "tab": {"table"}}.Encode())
		br.waitFor(`return document.querySelector("#result-table, .error, .empty") !== null`, "the table")
		var rows [][]string
		br.eval(`return [...document.querySelectorAll("#result-table tr.result-row")].map(r => [r.cells[0].textContent, r.cells[1].textContent])`, &rows)
		want := [][]string{{`ui_temperature{job="ui", room="a"}`, "21.5"}, {`ui_temperature{job="ui", room="b"}`, "19.25"}}
		require.ElementsMatch(t, want, rows, "the table of ui_temperature")
	})

	t.Run("completion", func(t *testing.T) {
		br.sub(t)
		br.open(base + "/query")
		br.typeInto("#expr", "ui_")
		br.waitFor(`return document.querySelectorAll("#completions li").length > 0`, "completions")
		var offered []string
		br.eval(`return [...document.querySelectorAll("#completions li")].map(e => e.dataset.value)`, &offered)
		require.Subset(t, offered, []string{"ui_x", "ui_y", "ui_temperature"}, "completions of ui_")
	})

	t.Run("label completion", func(t *testing.T) {
		br.sub(t)
		br.open(base + "/query")
		br.typeInto("#expr", `ui_temperature{room="`)
		br.waitFor(`return document.querySelectorAll("#completions li").length > 0`, "completions")
		var offered []string
		br.eval(`return [...document.querySelectorAll("#completions li")].map(e => e.dataset.value)`, &offered)
		require.Equal(t, []string{"a", "b"}, offered, "values of room")
	})

	t.Run("error", func(t *testing.T) {
		br.sub(t)
		const bad = "sum(ui_x"
		resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {bad}}.Encode())
		require.NoError(t, err)
		var apiErr struct{ ErrorType, Error string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&apiErr))
		require.NoError(t, resp.Body.Close())
		br.open(base + "/query?" + url.Values{"expr": {bad}, "tab": {"table"}}.Encode())
		br.waitFor(`return document.querySelector(".error") !== null`, "the error")
		var shown string
		br.eval(`return document.querySelector(".error").textContent`, &shown)
		require.Equal(t, apiErr.ErrorType+": "+apiErr.Error, shown, "the error as the API gives it")
	})

	t.Run("url state", func(t *testing.T) {
		br.sub(t)
		br.open(base + "/query")
		br.typeInto("#expr", "ui_x\n") // "\n" is the Enter key, which runs the query
		br.waitFor(`return document.querySelector("#graph canvas") !== null`, "the graph")
		br.eval(`document.querySelector("#tab-table").click(); return true`, new(bool))
		br.waitFor(`return document.querySelector("#result-table") !== null`, "the table")
		var search string
		br.eval(`return location.search`, &search)
		q, err := url.ParseQuery(search[1:])
		require.NoError(t, err)
		require.Equal(t, "ui_x", q.Get("expr"), "expr in the URL")
		require.Equal(t, "table", q.Get("tab"), "tab in the URL")
		require.Equal(t, "1h", q.Get("range"), "range in the URL")
	})

	t.Run("status", func(t *testing.T) {
		br.sub(t)
		resp, err := http.Get(base + "/api/v1/status/tsdb")
		require.NoError(t, err)
		var tsdb struct {
			Data struct {
				HeadStats map[string]json.Number `json:"headStats"`
			} `json:"data"`
		}
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		require.NoError(t, dec.Decode(&tsdb))
		require.NoError(t, resp.Body.Close())
		br.open(base + "/status")
		br.waitFor(`return document.querySelector("[data-stat=numSeries]") !== null`, "the head stats")
		for _, field := range []string{"numSeries", "numSamples", "chunkCount", "numLabelPairs", "bytesPerSample"} {
			var shown string
			br.eval(`return document.querySelector("[data-stat=" + arguments[0] + "]").textContent`, &shown, field)
			require.Equal(t, tsdb.Data.HeadStats[field].String(), shown, "the status page's %s", field)
		}
		require.Equal(t, "4", tsdb.Data.HeadStats["numSeries"].String(), "series written")
	})

	t.Run("correlate", func(t *testing.T) {
		br.sub(t)
		br.open(base + "/correlate?" + url.Values{"x": {"ui_x"}, "y": {"ui_y"}, "range": {"1h"}}.Encode())
		br.waitFor(`return document.querySelector("#corr-table, .error, .empty") !== null`, "the coefficients")
		var cells [][]string
		br.eval(`return [...document.querySelectorAll("#corr-table tr.pair")].map(r => [r.querySelector(".pearson").textContent, r.querySelector(".spearman").textContent])`, &cells)
		require.Equal(t, [][]string{{"1.0000", "1.0000"}}, cells, "Pearson and Spearman of y = 3x + 2")
		var bars int
		br.eval(`return document.querySelectorAll("#acf canvas").length`, &bars)
		require.Positive(t, bars, "the autocorrelation chart")
	})
}
