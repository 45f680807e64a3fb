//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// promtoolQueries are the PromQL expressions promtool sends to both
// servers, as instant queries at t1 and as range queries over [t0, t1] at
// a 1s step. Range selectors stay within the compared window (5s), so no
// answer depends on the first scrapes before it.
var promtoolQueries = []string{
	// Selectors, offsets and @.
	`up`,
	`node_load1 offset 5s`,
	`node_load1 @ start()`,
	`rate(node_cpu_seconds_total[5s] offset 3s)`,
	// Counters.
	`rate(node_cpu_seconds_total[5s])`,
	`irate(node_cpu_seconds_total[5s])`,
	`increase(node_network_receive_bytes_total[5s])`,
	`resets(node_cpu_seconds_total[5s])`,
	`changes(node_context_switches_total[5s])`,
	// Aggregations.
	`sum by (mode) (rate(node_cpu_seconds_total[5s]))`,
	`sum without (cpu) (rate(node_cpu_seconds_total[5s]))`,
	`avg by (cpu) (rate(node_cpu_seconds_total{mode!="idle"}[5s]))`,
	`max(node_load1)`,
	`min by (job) (up)`,
	`count by (job) (up)`,
	`count(node_cpu_seconds_total)`,
	`group by (job) (up)`,
	`stddev(rate(node_cpu_seconds_total[5s]))`,
	`stdvar by (mode) (rate(node_cpu_seconds_total[5s]))`,
	`quantile(0.9, rate(node_cpu_seconds_total[5s]))`,
	`count_values("value", up)`,
	// Which of several equal values topk and bottomk keep differs between
	// engine versions: these compare values that are not equal.
	`topk(3, node_cpu_seconds_total)`,
	`bottomk(2, sum by (mode) (node_cpu_seconds_total) > 0)`,
	`topk by (mode) (1, node_cpu_seconds_total > 0)`,
	// Histograms.
	`histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[5s])))`,
	`histogram_quantile(0.5, sum by (le, handler) (rate(prometheus_http_request_duration_seconds_bucket[5s])))`,
	`sum(rate(prometheus_http_request_duration_seconds_sum[5s])) / sum(rate(prometheus_http_request_duration_seconds_count[5s]))`,
	// Functions over time.
	`max_over_time(node_load1[5s])`,
	`min_over_time(node_memory_MemFree_bytes[5s])`,
	`avg_over_time(node_memory_MemFree_bytes[5s])`,
	`sum_over_time(up[5s])`,
	`count_over_time(up[5s])`,
	`last_over_time(node_load1[5s])`,
	`quantile_over_time(0.5, node_memory_MemFree_bytes[5s])`,
	`stddev_over_time(node_memory_MemFree_bytes[5s])`,
	`deriv(node_memory_MemFree_bytes[5s])`,
	`predict_linear(node_memory_MemFree_bytes[5s], 60)`,
	`delta(node_memory_MemFree_bytes[5s])`,
	`idelta(node_memory_MemFree_bytes[5s])`,
	// Subqueries. Their ranges are not a multiple of the step: Prometheus 3
	// (whose engine gorilla-remote runs) reads a range as (t-r, t], 2.42 as
	// [t-r, t], so a step on the start boundary would count in one only.
	`max_over_time(rate(node_cpu_seconds_total[3s])[5500ms:1s])`,
	`avg_over_time(sum(rate(prometheus_http_requests_total[3s]))[5500ms:1s])`,
	// Labels.
	`label_replace(up, "host", "$1", "instance", "(.*):.*")`,
	`label_join(up, "jobinst", "/", "job", "instance")`,
	// Absence.
	`absent(nonexistent_metric)`,
	`absent(up)`,
	`absent_over_time(nonexistent_metric[5s])`,
	// Time.
	`time()`,
	`timestamp(up)`,
	`hour(timestamp(up))`,
	`day_of_week(timestamp(node_load1))`,
	`node_time_seconds - timestamp(node_time_seconds)`,
	// Arithmetic, comparison, set operators and matching.
	`node_memory_MemFree_bytes / node_memory_MemTotal_bytes`,
	`up * on (instance) group_left (nodename) node_uname_info`,
	`rate(node_cpu_seconds_total[5s]) > 0.01`,
	`rate(node_cpu_seconds_total[5s]) > bool 0.01`,
	`node_cpu_seconds_total unless node_cpu_seconds_total{mode="idle"}`,
	`up or vector(0)`,
	`node_load1 and on () vector(1)`,
	`scalar(sum(up)) * 2`,
	`-node_load1 + 1`,
	// Math.
	`abs(deriv(node_load1[5s]))`,
	`clamp_max(node_load1, 0.5)`,
	`round(node_load1, 0.1)`,
	`ln(node_memory_MemTotal_bytes)`,
	`sqrt(node_memory_MemFree_bytes)`,
	`exp(-node_load1)`,
	`sgn(delta(node_load1[5s]))`,
	`sort_desc(sum by (mode) (node_cpu_seconds_total))`,
}

// promtoolSelectors are the match[] selectors of the series queries and
// the label names of the labels queries.
var (
	promtoolSelectors = []string{`up`, `{__name__=~"node_cpu.*"}`, `prometheus_http_requests_total{code="200"}`, `{job="node", __name__=~"node_load.*"}`}
	promtoolLabels    = []string{"__name__", "job", "mode", "cpu", "nonexistent"}
)

// promtoolReach is how far before its evaluation time the longest query
// above reads samples (a 5s subquery of 3s rates), plus a second.
const promtoolReach = 9 * time.Second

// comparePromtool runs real promtool queries against Prometheus #1 and
// gorilla-remote, which hold the same data over [t0, t1], and requires the
// same answers: the same series, timestamps exact, values within 1e-9
// relative. Prometheus sends only samples scraped after its remote-write
// queue started, so every evaluation time is at least promtoolReach after
// the first sample gorilla-remote received.
func comparePromtool(t *testing.T, c *http.Client, promtool, prom, gr string, t0, t1 int64) {
	require.GreaterOrEqual(t, len(promtoolQueries), 50)
	first := headMinTime(t, c, gr)
	if from := (first+promtoolReach.Milliseconds())/1000*1000 + 1000; from > t0 {
		t.Logf("first sample received at %d: range queries start at %d, not %d", first, from, t0)
		t0 = from
	}
	require.Less(t, t0, t1-3000, "remote write started too late for the compared window (first sample at %d)", first)
	// ask runs `promtool query <sub> -o json <flags> -- <server> [<arg>]`;
	// "--" keeps an expression such as -x + 1 from reading as a flag.
	ask := func(server, sub string, flags []string, arg string) []byte {
		t.Helper()
		args := append([]string{"query", sub, "-o", "json"}, flags...)
		args = append(args, "--", server)
		if arg != "" {
			args = append(args, arg)
		}
		out, err := exec.Command(promtool, args...).Output()
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		require.NoError(t, err, "promtool %s: %s", strings.Join(args, " "), stderr)
		return out
	}
	t.Run("instant", func(t *testing.T) {
		nonEmpty := 0
		for _, q := range promtoolQueries {
			t.Run(q, func(t *testing.T) {
				flags := []string{"--time=" + apiTime(t1)}
				want, got := decodeVector(t, q, ask(prom, "instant", flags, q)), decodeVector(t, q, ask(gr, "instant", flags, q))
				if len(want) > 0 {
					nonEmpty++
				}
				compareAPI(t, "instant "+q, want, got, false)
			})
		}
		// Most queries must have an answer, or the comparison proves little.
		require.Greater(t, nonEmpty, len(promtoolQueries)*3/4, "instant queries with a non-empty answer")
	})
	t.Run("range", func(t *testing.T) {
		for _, q := range promtoolQueries {
			t.Run(q, func(t *testing.T) {
				flags := []string{"--start=" + apiTime(t0), "--end=" + apiTime(t1), "--step=1s"}
				var want, got []apiSeries
				require.NoError(t, json.Unmarshal(ask(prom, "range", flags, q), &want), q)
				require.NoError(t, json.Unmarshal(ask(gr, "range", flags, q), &got), q)
				compareAPI(t, "range "+q, want, got, false)
			})
		}
	})
	t.Run("series", func(t *testing.T) {
		for _, sel := range promtoolSelectors {
			flags := []string{"--match=" + sel, "--start=" + apiTime(t0), "--end=" + apiTime(t1)}
			want, got := decodeLabelSets(t, ask(prom, "series", flags, "")), decodeLabelSets(t, ask(gr, "series", flags, ""))
			require.NotEmpty(t, want, "series %s", sel)
			require.Equal(t, want, got, "series %s", sel)
		}
	})
	t.Run("labels", func(t *testing.T) {
		for _, name := range promtoolLabels {
			flags := []string{`--match={job=~".+"}`, "--start=" + apiTime(t0), "--end=" + apiTime(t1)}
			var want, got []string
			require.NoError(t, json.Unmarshal(ask(prom, "labels", flags, name), &want), name)
			require.NoError(t, json.Unmarshal(ask(gr, "labels", flags, name), &got), name)
			require.Equal(t, want, got, "label values of %s", name)
		}
	})
}

// decodeVector reads promtool's JSON of an instant query: a vector, a
// scalar or a string, each turned into series of one point.
func decodeVector(t *testing.T, q string, out []byte) []apiSeries {
	t.Helper()
	var vec []apiSeries
	if err := json.Unmarshal(out, &vec); err == nil {
		for i := range vec {
			require.NotNil(t, vec[i].Value, "%s: %s", q, out)
			vec[i].Values = []apiPoint{*vec[i].Value}
			vec[i].Value = nil
		}
		return vec
	}
	var pt apiPoint
	require.NoError(t, json.Unmarshal(out, &pt), "%s: %s", q, out)
	return []apiSeries{{Metric: map[string]string{}, Values: []apiPoint{pt}}}
}

// decodeLabelSets reads promtool's JSON of a series query, as sorted
// strings.
func decodeLabelSets(t *testing.T, out []byte) []string {
	t.Helper()
	var sets []map[string]string
	require.NoError(t, json.Unmarshal(out, &sets), "%s", out)
	keys := make([]string, 0, len(sets))
	for _, s := range sets {
		keys = append(keys, fmt.Sprint(s))
	}
	slices.Sort(keys)
	return keys
}

// getJSON decodes the JSON answer of a GET into v.
func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", url, body)
	require.NoError(t, json.Unmarshal(body, v), "GET %s: %s", url, body)
}
