package demo

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

func (c *runner) printURLs(out io.Writer, d *demoServer, dir string) {
	fmt.Fprintf(out, "\n== Try it ==\n")
	if c.Keep {
		fmt.Fprintf(out, "The data is kept in %s. Serve it again with\n\n", dir)
		fmt.Fprintf(out, "  gorilla-remote serve --storage.path %s --web.listen-address %s\n\n", dir, d.addr)
		fmt.Fprintf(out, "then add %s as a Prometheus data source in Grafana, or repeat the requests above:\n\n", d.url)
	} else {
		fmt.Fprintf(out, "The server has stopped and its data is gone; run the demo with --keep to serve the data again\n")
		fmt.Fprintf(out, "and add its URL as a Prometheus data source in Grafana. The requests above were:\n\n")
	}
	for _, u := range d.used {
		fmt.Fprintf(out, "  curl -s '%s'\n", u)
	}
}

// clock formats t as UTC wall-clock time.
func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// humanCount writes v with a k or M suffix.
func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// promTime formats t as the API's seconds with milliseconds.
func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// printCompression shows the head's totals: what the Gorilla encoding made
// of the samples.
func (c *runner) printCompression(ctx context.Context, out io.Writer, d *demoServer, _ time.Time) error {
	var st struct {
		Head struct {
			Series         int64   `json:"numSeries"`
			Chunks         int64   `json:"chunkCount"`
			Samples        int64   `json:"numSamples"`
			BytesPerSample float64 `json:"bytesPerSample"`
		} `json:"headStats"`
	}
	if err := d.get(ctx, "/api/v1/status/tsdb", nil, &st); err != nil {
		return err
	}
	h := st.Head
	fmt.Fprintf(out, "\n== Compression: GET /api/v1/status/tsdb ==\n")
	fmt.Fprintf(out, "series        %d\n", h.Series)
	fmt.Fprintf(out, "samples       %d\n", h.Samples)
	fmt.Fprintf(out, "chunks        %d\n", h.Chunks)
	if h.BytesPerSample > 0 {
		fmt.Fprintf(out, "bytes/sample  %.2f, against 16 raw (an 8-byte timestamp and an 8-byte float): %.1f× smaller\n",
			h.BytesPerSample, 16/h.BytesPerSample)
	}
	fmt.Fprintf(out, "chunk bytes   %sB, against %sB raw\n",
		humanCount(float64(h.Samples)*h.BytesPerSample), humanCount(16*float64(h.Samples)))
	return nil
}

// printRangeQuery runs demoQuery over the synthetic range and shows the
// first and last points of each series.
func (c *runner) printRangeQuery(ctx context.Context, out io.Writer, d *demoServer, end time.Time) error {
	start := end.Add(-time.Duration(c.Rounds) * demoInterval)
	last := end.Add(-demoInterval)
	// About 30 steps, a whole number of intervals.
	step := last.Sub(start) / 30
	if r := step % demoInterval; r != 0 || step == 0 {
		step += demoInterval - r
	}
	var data struct {
		Result []rangeSeries `json:"result"`
	}
	params := url.Values{"query": {demoQuery}, "start": {promTime(start)}, "end": {promTime(last)}, "step": {model.Duration(step).String()}}
	if err := d.get(ctx, "/api/v1/query_range", params, &data); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== PromQL: GET /api/v1/query_range ==\n")
	fmt.Fprintf(out, "query  %s\n", demoQuery)
	fmt.Fprintf(out, "range  %s to %s UTC, step %v: %d series\n\n", clock(start), clock(last), model.Duration(step), len(data.Result))
	if len(data.Result) == 0 {
		return nil
	}
	slices.SortFunc(data.Result, func(a, b rangeSeries) int { return strings.Compare(a.Metric["job"], b.Metric["job"]) })
	printTable(out, data.Result[:min(len(data.Result), 6)], 3)
	fmt.Fprintln(out, "(requests per second by job; rate needs two samples, so the first step has none)")
	return nil
}

// printTable writes one column per series, headed by its job, and one row
// per step: the first and the last edge steps.
func printTable(out io.Writer, res []rangeSeries, edge int) {
	cells := map[int64][]string{} // time in ms -> one cell per column
	fmt.Fprintf(out, "%-10s", "time")
	for col, r := range res {
		fmt.Fprintf(out, "%14s", "job="+r.Metric["job"])
		for _, p := range r.Values {
			t, v, ok := parsePoint(p)
			if !ok {
				continue
			}
			ms := int64(math.Round(t * 1000))
			if cells[ms] == nil {
				cells[ms] = slices.Repeat([]string{"-"}, len(res))
			}
			cells[ms][col] = strconv.FormatFloat(v, 'f', 1, 64)
		}
	}
	fmt.Fprintln(out)
	times := slices.Sorted(maps.Keys(cells))
	for i, ms := range times {
		if i == edge && len(times) > 2*edge {
			fmt.Fprintln(out, "...")
		}
		if i >= edge && i < len(times)-edge {
			continue
		}
		fmt.Fprintf(out, "%-10s", clock(time.UnixMilli(ms)))
		for _, cell := range cells[ms] {
			fmt.Fprintf(out, "%14s", cell)
		}
		fmt.Fprintln(out)
	}
}

// rangeSeries is one series of a query_range answer.
type rangeSeries struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"` // [seconds, "value"]
}

// analyticsRange returns the query range of the analytics series: one
// step per sample.
func analyticsRange(end time.Time) url.Values {
	return url.Values{
		"start": {promTime(end.Add(-demoPoints * demoInterval))},
		"end":   {promTime(end.Add(-demoInterval))},
		"step":  {demoInterval.String()},
	}
}

func printCorrelation(ctx context.Context, out io.Writer, d *demoServer, end time.Time) error {
	fmt.Fprintf(out, "\n== Correlation: GET /api/v1/correlate ==\n")
	fmt.Fprintf(out, "x  demo_requests_per_second\ny  demo_cpu_usage\n\n")
	for _, method := range []string{"pearson", "spearman"} {
		var data struct {
			Pairs []struct {
				Coefficient string `json:"coefficient"`
				Reason      string `json:"reason"`
				Points      int    `json:"points"`
			} `json:"pairs"`
		}
		params := analyticsRange(end)
		params.Set("x", "demo_requests_per_second")
		params.Set("y", "demo_cpu_usage")
		params.Set("method", method)
		if err := d.get(ctx, "/api/v1/correlate", params, &data); err != nil {
			return err
		}
		if len(data.Pairs) != 1 {
			return fmt.Errorf("demo: correlate: got %d pairs, want 1", len(data.Pairs))
		}
		p := data.Pairs[0]
		if p.Coefficient == "" {
			fmt.Fprintf(out, "%-9s undefined (%s), %d points\n", method, p.Reason, p.Points)
			continue
		}
		r, err := strconv.ParseFloat(p.Coefficient, 64)
		if err != nil {
			return fmt.Errorf("demo: correlate: coefficient %q: %w", p.Coefficient, err)
		}
		fmt.Fprintf(out, "%-9s %.4f over %d aligned points\n", method, r, p.Points)
	}
	fmt.Fprintf(out, "(1 is a perfect positive relation, 0 none: CPU follows the request rate)\n")
	return nil
}

func printAutocorrelation(ctx context.Context, out io.Writer, d *demoServer, end time.Time) error {
	var data struct {
		Series []struct {
			Points int      `json:"points"`
			ACF    [][2]any `json:"acf"`
		} `json:"series"`
	}
	params := analyticsRange(end)
	params.Set("query", "demo_queue_depth")
	params.Set("max_lag", strconv.Itoa(demoMaxLag))
	if err := d.get(ctx, "/api/v1/autocorrelation", params, &data); err != nil {
		return err
	}
	if len(data.Series) != 1 {
		return fmt.Errorf("demo: autocorrelation: got %d series, want 1", len(data.Series))
	}
	s := data.Series[0]
	fmt.Fprintf(out, "\n== Autocorrelation: GET /api/v1/autocorrelation ==\n")
	fmt.Fprintf(out, "query  demo_queue_depth, %d points, step %v\n\n", s.Points, demoInterval)
	fmt.Fprintf(out, "lag        r  %s\n", "-1        0        +1")
	bestLag, best := 0, math.Inf(-1)
	for _, p := range s.ACF {
		lag, r, ok := parsePoint(p)
		if !ok {
			continue
		}
		fmt.Fprintf(out, "%3d  %7.3f  %s\n", int(lag), r, bar(r, 10))
		if lag >= 2 && r > best {
			bestLag, best = int(lag), r
		}
	}
	if bestLag > 0 {
		fmt.Fprintf(out, "(strongest repeat: lag %d, every %v, r = %.3f)\n", bestLag, time.Duration(bestLag)*demoInterval, best)
	}
	return nil
}

// bar draws r in [-1, 1] as up to width marks left or right of an axis.
func bar(r float64, width int) string {
	n := int(math.Round(math.Abs(max(-1, min(1, r))) * float64(width)))
	if r < 0 {
		return strings.Repeat(" ", width-n) + strings.Repeat("#", n) + "|"
	}
	return strings.Repeat(" ", width) + "|" + strings.Repeat("#", n)
}

// parsePoint reads a [number, "value"] pair of the API.
func parsePoint(p [2]any) (x, v float64, ok bool) {
	x, ok = p[0].(float64)
	s, ok2 := p[1].(string)
	if !ok || !ok2 {
		return 0, 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return x, v, err == nil
}
