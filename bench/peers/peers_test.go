package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

func TestParseMemStatus(t *testing.T) {
	const status = "Name:\tprometheus\nVmPeak:\t 2000 kB\nVmHWM:\t    1024 kB\nVmRSS:\t     512 kB\nThreads:\t9\n"
	got, err := parseMemStatus(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := (memStatus{PeakRSS: 1 << 20, RSS: 512 << 10}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := parseMemStatus("VmRSS:\t512 kB\n"); err == nil {
		t.Fatal("no error without VmHWM")
	}
}

func TestMedianPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, c := range []struct {
		in  []time.Duration
		med time.Duration
	}{
		{nil, 0},
		{ms(7), 7 * time.Millisecond},
		{ms(5, 1, 3), 3 * time.Millisecond},
		{ms(4, 1, 3, 2), 2500 * time.Microsecond},
	} {
		in := append([]time.Duration(nil), c.in...)
		if got := median(c.in); got != c.med {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.med)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("input modified: %v, was %v", c.in, in)
			}
		}
	}
	if g, n := geomean([]float64{1, 4, math.NaN(), 0}); n != 2 || math.Abs(g-2) > 1e-12 {
		t.Errorf("geomean = %v over %d, want 2 over 2", g, n)
	}
}

func TestTargetEvaluate(t *testing.T) {
	ratios := map[string]map[string]float64{
		victoria:   {"steady_samples_per_sec": 1.6, "cpu_s_per_m": 0.71},
		prometheus: {"restart_ready_s": 0.3},
	}
	for _, c := range []struct {
		t    target
		held bool
		text string
	}{
		{target{"steady_samples_per_sec", victoria, true, 1.5, "ingest"}, true, "ratio 1.60 (≥ 1.50)"},
		{target{"cpu_s_per_m", victoria, false, 0.7, "cpu"}, false, "ratio 0.71 (≤ 0.70)"},
		{target{"restart_ready_s", prometheus, false, 1.0 / 3, "restart"}, true, "ratio 0.30 (≤ 0.33)"},
		{target{"rss_per_series", prometheus, false, 0.5, "rss"}, false, "no data"},
	} {
		got := c.t.evaluate("100k", ratios)
		if got.Held != c.held || !strings.Contains(got.Text, c.text) {
			t.Errorf("%s: got held=%v %q, want held=%v and %q", c.t.what, got.Held, got.Text, c.held, c.text)
		}
	}
}

func TestComputeRatios(t *testing.T) {
	gr := systemResult{System: gorilla, RSSPerSeries: 500,
		Phases: []phaseResult{{Name: phaseSteady, SamplesPerSec: 300, Failed: 1}},
		Queries: []queryResult{
			{Query: "a", MedianMs: 1, Runs: 5},
			{Query: "b", MedianMs: 4, Runs: 5},
			{Query: "c", MedianMs: 9, Runs: 5},
		}}
	prom := systemResult{System: prometheus, RSSPerSeries: 2000,
		Phases: []phaseResult{{Name: phaseSteady, SamplesPerSec: 100, Failed: 2}},
		Queries: []queryResult{
			{Query: "a", MedianMs: 4, Runs: 5},
			{Query: "b", MedianMs: 1, Runs: 5},
			{Query: "c", Failures: 1, Error: "boom"},
		}}
	s := scaleResult{Name: "1k", Systems: []systemResult{gr, prom}}
	fs := figures([]string{"a", "b", "c"})
	computeRatios(&s, fs)
	r := s.Ratios[prometheus]
	want := map[string]float64{"steady_samples_per_sec": 3, "rss_per_series": 0.25, "queries_geomean_ms": 1}
	for k, v := range want {
		if math.Abs(r[k]-v) > 1e-12 {
			t.Errorf("ratio %s = %v, want %v", k, r[k], v)
		}
	}
	for _, k := range []string{"steady_failed", "query3_median_ms", "new_samples_per_sec"} {
		if v, ok := r[k]; ok {
			t.Errorf("ratio %s = %v, want none", k, v)
		}
	}
}

func TestFormatTable(t *testing.T) {
	got := formatTable([]string{"figure", "a", "gr/a"}, [][]string{
		{"ingest (samples/s)", "1000", "2.00×"},
		{"p99", "3.5"},
	})
	want := "" +
		"figure                 a   gr/a\n" +
		"------------------  ----  -----\n" +
		"ingest (samples/s)  1000  2.00×\n" +
		"p99                  3.5       \n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for x, want := range map[float64]string{1234.5: "1234", 12.34: "12.3", 1.234: "1.23", 0.01234: "0.012", 0: "0.00", math.NaN(): "-"} {
		if got := formatNum(x); got != want {
			t.Errorf("formatNum(%v) = %q, want %q", x, got, want)
		}
	}
}

func TestParseScales(t *testing.T) {
	got, err := parseScales("100kx20, 1Mx6,1500x3")
	if err != nil {
		t.Fatal(err)
	}
	want := []load{{name: "100k", series: 100000, rounds: 20}, {name: "1M", series: 1000000, rounds: 6}, {name: "1500", series: 1500, rounds: 3}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("scale %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, err := parseScales(" "); err != nil || len(got) != 0 {
		t.Errorf("parseScales(\" \") = %v, %v; want no loads", got, err)
	}
	for _, bad := range []string{"100k", "x20", "100kx1", "-5x3", "1Gx3", "100kx20,"} {
		if _, err := parseScales(bad); err == nil {
			t.Errorf("parseScales(%q): no error", bad)
		}
	}
}

func TestSelector(t *testing.T) {
	ls := labels.FromStrings("__name__", "up", "path", `/a"b`, "job", "x")
	if got, want := selector(ls), `{__name__="up",job="x",path="/a\"b"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestRoundedValue(t *testing.T) {
	for _, c := range []struct {
		got, want float64
		rounded   bool
	}{
		{754.950672835, 754.9506728350935, true},
		{130.3876474125, 130.38764741256315, true},
		{754.95, 754.9506728350935, false},
		{1, 2, false},
	} {
		if got := roundedValue(c.got, c.want); got != c.rounded {
			t.Errorf("roundedValue(%v, %v) = %v, want %v", c.got, c.want, got, c.rounded)
		}
	}
}

func TestModuleRelease(t *testing.T) {
	for _, c := range []struct{ module, version, want string }{
		{prometheusModule, "v0.316.0", "3.16.0"},
		{prometheusModule, "v0.300.1", "3.0.1"},
		{prometheusModule, "v0.54.1", "2.54.1"},
		{"github.com/VictoriaMetrics/VictoriaMetrics", "v1.151.0", "1.151.0"},
		{prometheusModule, "(devel)", ""},
		{prometheusModule, "v0.316.1-0.20260101000000-abcdef123456", ""},
		{prometheusModule, "", ""},
	} {
		if got := moduleRelease(c.module, c.version); got != c.want {
			t.Errorf("moduleRelease(%s, %q) = %q, want %q", c.module, c.version, got, c.want)
		}
	}
}

func TestCountBlocks(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/meta.json", "b/c/meta.json", "wal/00000001", "d/meta.json.tmp"} {
		path := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := countBlocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Fatalf("got %d blocks, want 2", got)
	}
}

func TestPrintLongRun(t *testing.T) {
	rs := []longRunResult{
		{System: gorilla, Series: 100, Rounds: 10, Samples: 1000, RSSBytes: 4 << 20, RSSPerSeries: 400, MemBytesPerSample: 1.5},
		{System: prometheus, Series: 100, Rounds: 10, Samples: 1000, RSSBytes: 8 << 20, RSSPerSeries: 1600},
	}
	var b strings.Builder
	printLongRun(&b, rs)
	got := b.String()
	for _, want := range []string{"long run (100 series, 10 rounds)", "gr/prom", "0.25×", "0.50×"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	var line string
	for l := range strings.Lines(got) {
		if strings.HasPrefix(l, "head chunk bytes / sample") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 2 || f[len(f)-1] != "-" {
		t.Errorf("head chunk row %q: want the ratio missing, Prometheus has no such figure", line)
	}
}
