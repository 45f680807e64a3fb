package promql

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// TestPlanShards pins which aggregations are cut out and how the rest of
// the query reads their answers.
func TestPlanShards(t *testing.T) {
	cases := []struct {
		q     string
		outer string // "" when nothing is sharded
		inner []string
	}{
		{`sum(rate(x[5m]))`, `sum(__gorilla_shard_result_0)`, []string{`sum(rate(x[5m]))`}},
		{`count by (a) (rate(x[1m]))`, `sum by (a) (__gorilla_shard_result_0)`, []string{`count by (a) (rate(x[1m]))`}},
		{
			`sum without (a) (rate(x[1m]))`,
			`sum without (a, __gorilla_shard__) (__gorilla_shard_result_0)`, []string{`sum without (a) (rate(x[1m]))`},
		},
		{
			`histogram_quantile(0.9, sum by (le) (rate(b[5m])))`,
			`histogram_quantile(0.9, sum by (le) (__gorilla_shard_result_0))`, []string{`sum by (le) (rate(b[5m]))`},
		},
		{
			`topk(5, max by (i) (max_over_time(g[5m])))`,
			`topk(5, max by (i) (__gorilla_shard_result_0))`, []string{`max by (i) (max_over_time(g[5m]))`},
		},
		{
			`sum(rate(a[5m])) / sum(rate(b[5m]) * 2)`,
			`sum(__gorilla_shard_result_0) / sum(__gorilla_shard_result_1)`, []string{`sum(rate(a[5m]))`, `sum(rate(b[5m]) * 2)`},
		},
		{`min(clamp_min(irate(x[1m] offset 5m), 0))`, `min(__gorilla_shard_result_0)`, []string{`min(clamp_min(irate(x[1m] offset 5m), 0))`}},
		// Not sharded: the aggregation is not associative, its input mixes
		// series, or it is evaluated at a subquery's steps.
		{`avg(x)`, "", nil},
		{`topk(3, x)`, "", nil},
		{`sum(x / y)`, "", nil},
		{`sum(x or y)`, "", nil},
		{`sum(label_replace(x, "a", "b", "c", "d"))`, "", nil},
		{`sum(sum by (a) (delta(x[2m])))`, `sum(sum by (a) (__gorilla_shard_result_0))`, []string{`sum by (a) (delta(x[2m]))`}},
		{`max by (i) (g)`, "", nil}, // plain samples: not worth it
		{`sum(x * 2)`, "", nil},
		{`max_over_time(sum(x)[10m:1m])`, "", nil},
		{`sum(rate(x[5m:1m]))`, "", nil},
		{`x`, "", nil},
	}
	p := parser.NewParser(parser.Options{})
	for _, c := range cases {
		expr, err := p.ParseExpr(c.q)
		require.NoError(t, err, c.q)
		plan := planShards(expr)
		if c.outer == "" {
			require.Nil(t, plan, c.q)
			continue
		}
		require.NotNil(t, plan, c.q)
		require.Equal(t, c.outer, plan.outer, c.q)
		require.Equal(t, c.inner, plan.inner, c.q)
	}
}

// shardTestHead holds counters, gauges and classic histogram buckets,
// enough series of each to be dealt out, and one native histogram, over
// 10 minutes every 15 s, with a gap and a counter reset, for comparing
// sharded and unsharded answers.
func shardTestHead(t *testing.T) *head.Head {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	for i := range 2 * minShardSeries { // enough to be dealt out
		inst := "i" + strconv.Itoa(i%17)
		c := labels.FromStrings("__name__", "reqs_total", "instance", inst, "path", "/p"+strconv.Itoa(i))
		g := labels.FromStrings("__name__", "load", "instance", inst, "region", "r"+strconv.Itoa(i%3), "n", strconv.Itoa(i))
		bk := labels.FromStrings("__name__", "lat_bucket", "instance", inst, "n", strconv.Itoa(i/8), "le", []string{"0.1", "0.5", "1", "5", "10", "20", "50", "+Inf"}[i%8])
		for k := range int64(41) {
			ts := k * 15_000
			if i%5 == 0 && k > 10 && k < 20 {
				continue // a gap longer than a step: some steps have no answer
			}
			// Values differ between series: topk picks among ties by the
			// order it meets them, which sharding changes.
			v := float64(k*int64(i%7+1)) + float64(i)/3
			if i%11 == 0 && k > 30 {
				v -= 50 // a counter reset
			}
			for _, s := range []struct {
				l labels.Labels
				v float64
			}{{c, v}, {g, math.Sin(float64(k+int64(i)))*10 + float64(i)/1000}, {bk, float64(k * int64(i%8+1))}} {
				_, err := app.Append(0, s.l, ts, s.v)
				require.NoError(t, err)
			}
		}
	}
	nh := labels.FromStrings("__name__", "native", "instance", "i0")
	for k := range int64(41) {
		hh := &histogram.Histogram{Count: uint64(10 * k), Sum: float64(k), Schema: 0, ZeroThreshold: 0.001,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{int64(4 * k), int64(2 * k)}}
		_, err := app.AppendHistogram(0, nh, k*15_000, hh, nil)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	return h
}

// TestShardedQueriesAnswerAsOneShard compares the answers of an engine
// of four shards with those of one, for range and instant queries.
func TestShardedQueriesAnswerAsOneShard(t *testing.T) {
	h := shardTestHead(t)
	qa := query.New(h)
	one := newEngine(t, EngineOptions{Shards: 1})
	four := newEngine(t, EngineOptions{Shards: 4})
	queries := []string{
		`sum(rate(reqs_total[5m]))`,
		`sum by (instance) (rate(reqs_total[2m]))`,
		`histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))`,
		`topk(5, max by (instance) (max_over_time(load[1m])))`,
		`min by (region) (min_over_time(load[2m]))`,
		`count by (instance) (avg_over_time(load[1m]) > 0)`,
		`group by (region) (last_over_time(load[1m]))`,
		`sum without (n) (rate(reqs_total[5m]))`,
		`max by (instance) (load)`,
		`sum(increase(reqs_total[1m])) / sum(rate(reqs_total[1m]) * 60)`,
		`sum(rate(native[2m]))`,
		`sum(rate(reqs_total[1m])) + count(count_over_time(load[1m]))`,
		`sum(nothing_here)`,
		`sum(rate(reqs_total[5m] @ 300))`,
	}
	start, end := time.UnixMilli(0), time.UnixMilli(600_000)
	for _, q := range queries {
		for _, step := range []time.Duration{15 * time.Second, 40 * time.Second} {
			want := runRange(t, one, qa, q, start, end, step)
			got := runRange(t, four, qa, q, start, end, step)
			requireSameMatrix(t, q, want, got)
		}
		for _, ts := range []int64{0, 170_000, 600_000} {
			want := runInstant(t, one, qa, q, time.UnixMilli(ts))
			got := runInstant(t, four, qa, q, time.UnixMilli(ts))
			requireSameMatrix(t, q, vectorMatrix(want), vectorMatrix(got))
		}
	}
}

func runRange(t *testing.T, e *Engine, qa storage.Queryable, q string, start, end time.Time, step time.Duration) upstream.Matrix {
	t.Helper()
	qry, err := e.NewRangeQuery(context.Background(), qa, nil, q, start, end, step)
	require.NoError(t, err, q)
	defer qry.Close()
	r := qry.Exec(context.Background())
	require.NoError(t, r.Err, q)
	m, err := r.Matrix()
	require.NoError(t, err, q)
	return copyMatrix(m)
}

func runInstant(t *testing.T, e *Engine, qa storage.Queryable, q string, ts time.Time) upstream.Vector {
	t.Helper()
	qry, err := e.NewInstantQuery(context.Background(), qa, nil, q, ts)
	require.NoError(t, err, q)
	defer qry.Close()
	r := qry.Exec(context.Background())
	require.NoError(t, r.Err, q)
	v, err := r.Vector()
	require.NoError(t, err, q)
	out := make(upstream.Vector, len(v))
	for i, s := range v {
		out[i] = s
		if s.H != nil {
			out[i].H = s.H.Copy()
		}
	}
	return out
}

// copyMatrix copies the points, which the engine reuses after Close.
func copyMatrix(m upstream.Matrix) upstream.Matrix {
	out := make(upstream.Matrix, len(m))
	for i, s := range m {
		out[i] = upstream.Series{Metric: s.Metric, Floats: append([]upstream.FPoint(nil), s.Floats...)}
		for _, p := range s.Histograms {
			out[i].Histograms = append(out[i].Histograms, upstream.HPoint{T: p.T, H: p.H.Copy()})
		}
	}
	return out
}

func vectorMatrix(v upstream.Vector) upstream.Matrix {
	m := make(upstream.Matrix, 0, len(v))
	for _, s := range v {
		ser := upstream.Series{Metric: s.Metric}
		if s.H != nil {
			ser.Histograms = []upstream.HPoint{{T: s.T, H: s.H}}
		} else {
			ser.Floats = []upstream.FPoint{{T: s.T, F: s.F}}
		}
		m = append(m, ser)
	}
	// An instant answer has no order of its own.
	slices.SortFunc(m, func(a, b upstream.Series) int { return labels.Compare(a.Metric, b.Metric) })
	return m
}

// requireSameMatrix compares labels and times exactly and values to a
// relative 1e-9: the shards add in another order.
func requireSameMatrix(t *testing.T, q string, want, got upstream.Matrix) {
	t.Helper()
	require.Equal(t, len(want), len(got), "%s: series", q)
	for i := range want {
		require.Equal(t, want[i].Metric.String(), got[i].Metric.String(), q)
		require.False(t, strings.Contains(got[i].Metric.String(), shardLabel), q)
		require.Equal(t, len(want[i].Floats), len(got[i].Floats), "%s %s: floats", q, want[i].Metric)
		for j, p := range want[i].Floats {
			g := got[i].Floats[j]
			require.Equal(t, p.T, g.T, q)
			if math.IsNaN(p.F) {
				require.True(t, math.IsNaN(g.F), "%s at %d: got %v, want NaN", q, p.T, g.F)
				continue
			}
			require.InDelta(t, p.F, g.F, 1e-9*math.Max(1, math.Abs(p.F)), "%s %s at %d", q, want[i].Metric, p.T)
		}
		require.Equal(t, len(want[i].Histograms), len(got[i].Histograms), "%s %s: histograms", q, want[i].Metric)
		for j, p := range want[i].Histograms {
			g := got[i].Histograms[j]
			require.Equal(t, p.T, g.T, q)
			require.InDelta(t, p.H.Sum, g.H.Sum, 1e-9*math.Max(1, math.Abs(p.H.Sum)), q)
			require.InDelta(t, p.H.Count, g.H.Count, 1e-9*math.Max(1, p.H.Count), q)
		}
	}
}

// TestShardedQuerySlotsAndCancel runs sharded queries on an engine of one
// query slot, at once (each holds the slot for all its shards, so none
// waits on another's shards), and one whose request is gone already.
func TestShardedQuerySlotsAndCancel(t *testing.T) {
	h := shardTestHead(t)
	qa := query.New(h)
	e := newEngine(t, EngineOptions{Shards: 3, MaxConcurrent: 1})
	q := `sum by (instance) (rate(reqs_total[5m]))`
	start, end := time.UnixMilli(0), time.UnixMilli(600_000)
	want := runRange(t, newEngine(t, EngineOptions{Shards: 1}), qa, q, start, end, 15*time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			qry, err := e.NewRangeQuery(context.Background(), qa, nil, q, start, end, 15*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer qry.Close()
			r := qry.Exec(context.Background())
			if r.Err != nil {
				t.Error(r.Err)
				return
			}
			m, _ := r.Matrix()
			if len(m) != len(want) {
				t.Errorf("got %d series, want %d", len(m), len(want))
			}
		})
	}
	wg.Wait()

	// The engine may give up while preparing, as it does unsharded, or
	// while running.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	qry, err := e.NewRangeQuery(ctx, qa, nil, q, start, end, 15*time.Second)
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
		return
	}
	defer qry.Close()
	r := qry.Exec(ctx)
	var canceled upstream.ErrQueryCanceled
	require.ErrorAs(t, r.Err, &canceled)
}

// TestShardedQueryInEngineMetrics checks that a sharded query is counted
// in the engine's query durations, as an unsharded one is.
func TestShardedQueryInEngineMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEngine(t, EngineOptions{Shards: 2, Registerer: reg})
	runRange(t, e, query.New(shardTestHead(t)), `sum(rate(reqs_total[5m]))`, time.UnixMilli(0), time.UnixMilli(600_000), time.Minute)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var evals uint64
	for _, mf := range mfs {
		if mf.GetName() != "gorilla_prometheus_engine_query_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "slice" && l.GetValue() == "inner_eval" {
					evals += m.GetSummary().GetSampleCount()
				}
			}
		}
	}
	require.Equal(t, uint64(1), evals)
}
