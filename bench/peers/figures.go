package main

import (
	"fmt"
	"math"
)

// figure is one number measured for every system, with how it is compared.
type figure struct {
	key   string // stable name in JSON
	label string // row label in the table
	// value is the figure of one system, NaN when it was not measured.
	value func(r *systemResult) float64
	// ratio, when set, replaces value(a)/value(b) for the ratio column.
	ratio func(a, b *systemResult) float64
	// count marks counts (failures): printed as integers, with no ratio.
	count bool
}

// figures lists the rows of the table, in order, for queries (the range
// queries of the load, in order).
func figures(queries []string) []figure {
	fs := []figure{}
	for _, ph := range []struct{ key, name string }{{"new", phaseNew}, {"steady", phaseSteady}, {"replay", phaseReplay}} {
		name := ph.name
		fs = append(fs,
			phaseFigure(ph.key+"_samples_per_sec", "ingest "+name+" (samples/s)", name, func(p *phaseResult) float64 { return p.SamplesPerSec }),
			phaseFigure(ph.key+"_p50_ms", "  p50 request latency (ms)", name, func(p *phaseResult) float64 { return p.P50Ms }),
			phaseFigure(ph.key+"_p99_ms", "  p99 request latency (ms)", name, func(p *phaseResult) float64 { return p.P99Ms }),
			phaseFigure(ph.key+"_cpu_s_per_m", "  server CPU s / M samples", name, func(p *phaseResult) float64 { return p.CPUPerMSample }),
		)
		f := phaseFigure(ph.key+"_failed", "  failed requests", name, func(p *phaseResult) float64 { return float64(p.Failed) })
		f.count = true
		fs = append(fs, f)
	}
	fs = append(fs,
		figure{key: "cpu_s_per_m", label: "server CPU s / M samples, all", value: cpuPerMAll},
		figure{key: "peak_rss_mib", label: "peak RSS (MiB)", value: func(r *systemResult) float64 { return positive(float64(r.PeakRSSBytes) / (1 << 20)) }},
		figure{key: "rss_mib", label: "RSS after load (MiB)", value: func(r *systemResult) float64 { return positive(float64(r.RSSBytes) / (1 << 20)) }},
		figure{key: "rss_per_series", label: "RSS bytes / active series", value: func(r *systemResult) float64 { return positive(r.RSSPerSeries) }},
		figure{key: "disk_bytes_per_sample", label: "disk bytes / sample", value: func(r *systemResult) float64 { return positive(r.DiskBytesPerSample) }},
		figure{key: "wal_bytes_per_sample", label: "WAL bytes / sample (Prometheus: + head chunks)", value: func(r *systemResult) float64 { return positive(r.WALBytesPerSample) }},
		figure{key: "mem_bytes_per_sample", label: "in-memory chunk bytes / sample", value: func(r *systemResult) float64 { return positive(r.Disk.MemBytesPerSample) }},
	)
	for i, q := range queries {
		fs = append(fs, figure{
			key: fmt.Sprintf("query%d_median_ms", i+1), label: fmt.Sprintf("query %d median (ms): %s", i+1, clip(q, 40)),
			value: func(r *systemResult) float64 { return queryMedian(r, q) },
		})
	}
	if len(queries) > 0 {
		fs = append(fs, figure{
			key: "queries_geomean_ms", label: "queries, geometric mean (ms)",
			value: func(r *systemResult) float64 { return queryGeomean(r, nil) },
			ratio: queryRatio,
		})
	}
	return append(fs,
		figure{key: "restart_ready_s", label: "restart after kill -9: ready (s)", value: func(r *systemResult) float64 { return restartFigure(r, false) }},
		figure{key: "restart_data_s", label: "restart after kill -9: data (s)", value: func(r *systemResult) float64 { return restartFigure(r, true) }},
	)
}

func phaseFigure(key, label, phase string, get func(*phaseResult) float64) figure {
	return figure{key: key, label: label, value: func(r *systemResult) float64 {
		p := r.phase(phase)
		if p == nil {
			return math.NaN()
		}
		return get(p)
	}}
}

func cpuPerMAll(r *systemResult) float64 {
	var cpu float64
	var n int64
	for _, p := range r.Phases {
		cpu += p.CPUSeconds
		n += p.Samples
	}
	if n == 0 {
		return math.NaN()
	}
	return cpu / (float64(n) / 1e6)
}

func queryMedian(r *systemResult, q string) float64 {
	for _, qr := range r.Queries {
		if qr.Query == q && qr.Error == "" && qr.Runs > 0 {
			return qr.MedianMs
		}
	}
	return math.NaN()
}

// queryGeomean is the geometric mean of the query medians of r that
// succeeded, limited to the queries in only when it is not nil.
func queryGeomean(r *systemResult, only map[string]bool) float64 {
	var xs []float64
	for _, qr := range r.Queries {
		if only == nil || only[qr.Query] {
			xs = append(xs, queryMedian(r, qr.Query))
		}
	}
	g, _ := geomean(xs)
	return g
}

// queryRatio compares two systems on the queries both answered.
func queryRatio(a, b *systemResult) float64 {
	both := map[string]bool{}
	for _, qr := range a.Queries {
		if !math.IsNaN(queryMedian(a, qr.Query)) && !math.IsNaN(queryMedian(b, qr.Query)) {
			both[qr.Query] = true
		}
	}
	if len(both) == 0 {
		return math.NaN()
	}
	return ratio(queryGeomean(a, both), queryGeomean(b, both))
}

func restartFigure(r *systemResult, data bool) float64 {
	if r.Restart == nil || r.Restart.Error != "" {
		return math.NaN()
	}
	if data {
		return positive(r.Restart.DataSeconds)
	}
	return r.Restart.ReadySeconds
}

// positive maps a missing (zero) measurement to NaN.
func positive(x float64) float64 {
	if x <= 0 {
		return math.NaN()
	}
	return x
}

// figureRatio is gorilla-remote's figure divided by the peer's.
func figureRatio(f figure, gr, peer *systemResult) float64 {
	if f.count {
		return math.NaN()
	}
	if f.ratio != nil {
		return f.ratio(gr, peer)
	}
	return ratio(f.value(gr), f.value(peer))
}

// target is a bound on the ratio of one figure to one peer's.
type target struct {
	figure  string
	peer    string
	atLeast bool // the ratio must be ≥ bound, else ≤ bound
	bound   float64
	what    string
}

// targets are the goals against the newest peers, as ratios
// gorilla-remote/peer; docs/benchmarks.md lists them with the latest figures.
var targets = []target{
	{"steady_samples_per_sec", victoria, true, 2, "ingestion, steady state, ≥2× VictoriaMetrics"},
	{"new_samples_per_sec", prometheus, true, 4, "ingestion, new series, ≥4× Prometheus"},
	{"rss_per_series", victoria, false, 0.7, "RSS per active series ≤0.7× VictoriaMetrics"},
	{"queries_geomean_ms", prometheus, false, 0.7, "range queries, geometric mean, ≤0.7× Prometheus"},
	{"queries_geomean_ms", victoria, false, 0.8, "range queries, geometric mean, ≤0.8× VictoriaMetrics"},
	{"restart_ready_s", prometheus, false, 1.0 / 3, "restart to ready after kill -9 ≤0.33× Prometheus"},
	{"wal_bytes_per_sample", prometheus, false, 0.6, "WAL bytes / sample ≤0.6× Prometheus WAL + head chunks"},
	{"cpu_s_per_m", victoria, false, 0.5, "server CPU per sample, all phases, ≤0.5× VictoriaMetrics"},
}

// evaluate checks t against the ratios of one load; a missing ratio does not
// hold.
func (t target) evaluate(scale string, ratios map[string]map[string]float64) targetCheck {
	c := targetCheck{Scale: scale, Figure: t.figure, Peer: t.peer, Op: "≤", Bound: t.bound}
	if t.atLeast {
		c.Op = "≥"
	}
	r, ok := ratios[t.peer][t.figure]
	if !ok || math.IsNaN(r) {
		c.Text = fmt.Sprintf("%s: %s: no data", scale, t.what)
		return c
	}
	c.Ratio = r
	c.Held = r <= t.bound
	if t.atLeast {
		c.Held = r >= t.bound
	}
	c.Text = fmt.Sprintf("%s: %s: ratio %.2f (%s %.2f)", scale, t.what, r, c.Op, t.bound)
	return c
}

// computeRatios fills s.Ratios for every figure and peer, leaving out
// figures either side lacks.
func computeRatios(s *scaleResult, fs []figure) {
	s.Ratios = map[string]map[string]float64{}
	gr := s.system(gorilla)
	if gr == nil {
		return
	}
	for i := range s.Systems {
		peer := &s.Systems[i]
		if peer.System == gorilla {
			continue
		}
		m := map[string]float64{}
		for _, f := range fs {
			if r := figureRatio(f, gr, peer); !math.IsNaN(r) && !math.IsInf(r, 0) {
				m[f.key] = r
			}
		}
		s.Ratios[peer.System] = m
	}
}

func (s *scaleResult) system(name string) *systemResult {
	for i := range s.Systems {
		if s.Systems[i].System == name {
			return &s.Systems[i]
		}
	}
	return nil
}

// evaluateTargets checks every target on every load.
func evaluateTargets(scales []scaleResult) []targetCheck {
	var out []targetCheck
	for _, s := range scales {
		if s.Name == phaseReplay {
			continue
		}
		for _, t := range targets {
			if s.system(gorilla) != nil && s.system(t.peer) != nil {
				out = append(out, t.evaluate(s.Name, s.Ratios))
			}
		}
	}
	return out
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
