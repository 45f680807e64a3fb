package query

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

const (
	day        = int64(24 * time.Hour / time.Millisecond)
	rollupDays = 30
)

// countingBlocks is localBlocks that counts opens by resolution.
type countingBlocks struct {
	*localBlocks
	res   map[ulid.ULID]int64
	mu    sync.Mutex // windows are opened concurrently
	opens map[int64]int
}

func (c *countingBlocks) Open(ctx context.Context, id ulid.ULID) (*block.Block, func(), error) {
	c.mu.Lock()
	c.opens[c.res[id]]++
	c.mu.Unlock()
	return c.localBlocks.Open(ctx, id)
}

// monthOfBlocks writes thirty one-day raw blocks of three series sampled
// every minute (a counter growing by 2 a minute, a gauge following a slow
// sine, a gauge rising by 1 a minute), and their 5m and 1h roll-ups.
func monthOfBlocks(t *testing.T, withRaw bool) *countingBlocks {
	t.Helper()
	dir := t.TempDir()
	c := &countingBlocks{localBlocks: &localBlocks{dirs: map[ulid.ULID]string{}}, res: map[ulid.ULID]int64{}, opens: map[int64]int{}}
	add := func(meta block.Meta) {
		c.metas = append(c.metas, meta)
		c.dirs[meta.ULID] = filepath.Join(dir, meta.ULID.String())
		c.res[meta.ULID] = meta.Thanos.Downsample.Resolution
	}
	for d := range int64(rollupDays) {
		mint, maxt := d*day, (d+1)*day
		var raw []model.ChunkSeries
		for _, name := range []string{"requests_total", "restarts_total", "rising", "temperature"} {
			var samples []model.Sample
			for ts := mint; ts < maxt; ts += 60_000 {
				m := float64(ts / 60_000)
				v := map[string]float64{
					"requests_total": 2 * m,
					// Restarts every 5h (not on a window boundary), counting 3 a minute.
					"restarts_total": 3 * float64(int64(m)%300),
					"rising":         m,
					"temperature":    20 + 5*math.Sin(m/500),
				}[name]
				samples = append(samples, model.Sample{T: ts, V: v})
			}
			raw = append(raw, model.ChunkSeries{Labels: labels.FromStrings("__name__", name, "job", "x"), Chunks: encodeChunks(t, samples)})
		}
		if withRaw {
			meta, err := block.Write(context.Background(), dir, mint, maxt, raw, block.WriteOptions{})
			require.NoError(t, err)
			add(meta)
		}
		for _, res := range []int64{block.Resolution5m, block.Resolution1h} {
			rolled, err := block.Downsample(raw, res)
			require.NoError(t, err)
			meta, err := block.Write(context.Background(), dir, mint, maxt, rolled, block.WriteOptions{Resolution: res})
			require.NoError(t, err)
			add(meta)
		}
	}
	return c
}

// encodeChunks encodes samples into chunks of at most 480.
func encodeChunks(t *testing.T, samples []model.Sample) []model.Chunk {
	t.Helper()
	var out []model.Chunk
	for len(samples) > 0 {
		n := min(480, len(samples))
		c := chunkenc.NewXORChunk()
		app, err := c.Appender()
		require.NoError(t, err)
		for _, s := range samples[:n] {
			require.NoError(t, app.Append(s.T, s.V))
		}
		c.Compact()
		out = append(out, model.Chunk{MinT: samples[0].T, MaxT: samples[n-1].T, Data: c.Bytes()})
		samples = samples[n:]
	}
	return out
}

// emptyHead is a head without data: every query reads blocks.
func emptyHead(t *testing.T) *head.Head {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// rangeQuery evaluates q over the month at step with the upstream engine.
func rangeQuery(t *testing.T, ctx context.Context, qa *Queryable, q string, step time.Duration) upstream.Matrix {
	t.Helper()
	eng := upstream.NewEngine(upstream.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute})
	qry, err := eng.NewRangeQuery(ctx, qa, nil, q, time.UnixMilli(day), time.UnixMilli(rollupDays*day-1), step)
	require.NoError(t, err)
	defer qry.Close()
	res := qry.Exec(ctx)
	require.NoError(t, res.Err)
	m, err := res.Matrix()
	require.NoError(t, err)
	require.NotEmpty(t, m, q)
	// Close hands the points back to the engine: keep a copy.
	out := make(upstream.Matrix, len(m))
	for i, s := range m {
		out[i] = upstream.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats)}
	}
	return out
}

// requireClose compares two single-series results point by point within
// rel relative (or abs absolute for values near zero).
func requireClose(t *testing.T, q string, raw, rolled upstream.Matrix, rel float64) {
	t.Helper()
	require.Len(t, rolled, len(raw), q)
	for i := range raw {
		want, got := raw[i].Floats, rolled[i].Floats
		require.Equal(t, len(want), len(got), "%s: points", q)
		for j := range want {
			require.Equal(t, want[j].T, got[j].T, "%s: point %d of %d, series %s", q, j, len(want), raw[i].Metric)
			require.InDelta(t, want[j].F, got[j].F, rel*math.Max(math.Abs(want[j].F), 1), "%s at %d", q, want[j].T)
		}
	}
}

// TestMonthAtHourStepReadsRollups: a 30-day range query at a 1h step reads
// roll-up blocks only, and agrees with the same query over raw samples
// within the documented tolerance.
func TestMonthAtHourStepReadsRollups(t *testing.T) {
	blocks := monthOfBlocks(t, true)
	qa := NewWithBlocks(emptyHead(t), blocks)
	raw := WithMaxSourceResolution(context.Background(), 0)
	auto := context.Background()

	cases := []struct {
		q   string
		rel float64
	}{
		// Counter-aware increase keeps rate and increase right.
		{`rate(requests_total[1h])`, 1e-9},
		{`increase(requests_total[2h])`, 1e-9},
		// Resets, also in the last interval before a window boundary.
		{`rate(restarts_total[1h])`, 0.01},
		{`increase(restarts_total[6h])`, 0.01},
		// Extremes are kept exactly; interval edges may shift one sample.
		{`max_over_time(rising[1h])`, 0.01},
		{`min_over_time(rising[1h])`, 0.01},
		// Plain selectors and averages read the interval average.
		{`avg_over_time(temperature[1h])`, 0.01},
		{`temperature`, 0.01},
	}
	for _, c := range cases {
		want := rangeQuery(t, raw, qa, c.q, time.Hour)
		require.NotZero(t, blocks.opens[0], "raw query reads raw blocks")
		clear(blocks.opens)
		got := rangeQuery(t, auto, qa, c.q, time.Hour)
		require.Zero(t, blocks.opens[0], "%s at a 1h step reads no raw block", c.q)
		require.NotZero(t, blocks.opens[block.Resolution5m], "%s reads 5m roll-ups (a fifth of the step is 12m)", c.q)
		clear(blocks.opens)
		requireClose(t, c.q, want, got, c.rel)
	}

	// Functions a roll-up cannot answer read raw samples.
	rangeQuery(t, auto, qa, `count_over_time(rising[1h])`, time.Hour)
	require.NotZero(t, blocks.opens[0])
	clear(blocks.opens)

	// A 6h step may read hourly roll-ups; max_source_resolution caps it.
	rangeQuery(t, auto, qa, `max_over_time(rising[6h])`, 6*time.Hour)
	require.NotZero(t, blocks.opens[block.Resolution1h])
	clear(blocks.opens)
	rangeQuery(t, WithMaxSourceResolution(auto, block.Resolution5m), qa, `max_over_time(rising[6h])`, 6*time.Hour)
	require.Zero(t, blocks.opens[block.Resolution1h])
	require.NotZero(t, blocks.opens[block.Resolution5m])
}

// TestRollupsWhenRawIsGone: after the raw retention deleted the raw
// blocks, queries read the finest roll-ups, whatever their step.
func TestRollupsWhenRawIsGone(t *testing.T) {
	full := monthOfBlocks(t, true)
	rollupsOnly := monthOfBlocks(t, false)
	ctx := context.Background()
	want := rangeQuery(t, WithMaxSourceResolution(ctx, 0), NewWithBlocks(emptyHead(t), full), `max_over_time(rising[1h])`, time.Hour)
	got := rangeQuery(t, WithMaxSourceResolution(ctx, 0), NewWithBlocks(emptyHead(t), rollupsOnly), `max_over_time(rising[1h])`, time.Hour)
	requireClose(t, "max_over_time without raw blocks", want, got, 0.01)
	require.Zero(t, rollupsOnly.opens[block.Resolution1h], "the finest roll-up answers")
}

// TestLabelsFromRollupOnlyWindows: label questions over windows left with
// roll-ups only answer the raw series' labels.
func TestLabelsFromRollupOnlyWindows(t *testing.T) {
	q, err := NewWithBlocks(emptyHead(t), monthOfBlocks(t, false)).Querier(0, rollupDays*day)
	require.NoError(t, err)
	names, _, err := q.LabelNames(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"__name__", "job"}, names)
	vals, _, err := q.LabelValues(context.Background(), "__name__", nil, labels.MustNewMatcher(labels.MatchEqual, "job", "x"))
	require.NoError(t, err)
	require.Equal(t, []string{"requests_total", "restarts_total", "rising", "temperature"}, vals)
	vals, _, err = q.LabelValues(context.Background(), block.RollupLabel, nil)
	require.NoError(t, err)
	require.Empty(t, vals)
}
