package promql

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// Range query benchmarks on the upstream engine, over gorilla-remote's
// head and, as the reference, over a Prometheus TSDB head holding the same
// samples. Compare the two from one run:
//
//	go test -run='^$' -bench=RangeQuery -benchtime=20x ./promql/
const (
	benchSeries    = 10_000
	benchInstances = 100
	benchStep      = 15 * time.Second
	benchShort     = time.Hour
	benchLong      = 26 * time.Hour
)

// benchAppend writes the benchmark data through add: benchSeries counters
// over benchShort, spread over benchInstances instances, and one gauge
// over benchLong, every benchStep, ending at end.
func benchAppend(b *testing.B, end int64, add func(lset labels.Labels, t int64, v float64) error, commit func() error) {
	step := benchStep.Milliseconds()
	for i := range benchSeries {
		lset := labels.FromStrings("__name__", "http_requests_total", "instance", "host-"+strconv.Itoa(i%benchInstances),
			"job", "api", "handler", "/h"+strconv.Itoa(i/benchInstances))
		v := 0.0
		for t := end - benchShort.Milliseconds(); t <= end; t += step {
			v += float64(i%7 + 1)
			require.NoError(b, add(lset, t, v))
		}
		if i%500 == 499 {
			require.NoError(b, commit())
		}
	}
	one := labels.FromStrings("__name__", "temperature_celsius", "room", "kitchen")
	for t := end - benchLong.Milliseconds(); t <= end; t += step {
		require.NoError(b, add(one, t, 20+float64(t/step%100)/10))
	}
	require.NoError(b, commit())
}

func gorillaQueryable(b *testing.B, end int64) storage.Queryable {
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, OutOfOrderWindow: benchLong, Retention: benchLong})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, h.Close()) })
	app := h.Appender()
	benchAppend(b, end, func(lset labels.Labels, t int64, v float64) error {
		_, err := app.Append(0, lset, t, v)
		return err
	}, app.Commit)
	return query.New(h)
}

func tsdbQueryable(b *testing.B, end int64) storage.Queryable {
	opts := tsdb.DefaultOptions()
	opts.OutOfOrderTimeWindow = benchLong.Milliseconds()
	db, err := tsdb.Open(b.TempDir(), nil, nil, opts, nil)
	require.NoError(b, err)
	db.DisableCompactions() // every sample stays in the head, like ours
	b.Cleanup(func() { require.NoError(b, db.Close()) })
	app := db.Appender(context.Background())
	benchAppend(b, end, func(lset labels.Labels, t int64, v float64) error {
		_, err := app.Append(0, lset, t, v)
		return err
	}, func() error {
		err := app.Commit()
		app = db.Appender(context.Background())
		return err
	})
	return db
}

func BenchmarkRangeQuery(b *testing.B) {
	end := int64(100 * 24 * time.Hour / time.Millisecond)
	stores := []struct {
		name string
		open func(*testing.B, int64) storage.Queryable
	}{
		{"gorilla", gorillaQueryable},
		{"prometheus-tsdb", tsdbQueryable},
	}
	queries := []struct {
		name, q string
		rng     time.Duration
	}{
		{"sum_by_instance_rate_10k_series_1h", `sum by (instance) (rate(http_requests_total[5m]))`, benchShort},
		{"one_series_26h", `temperature_celsius`, benchLong},
		{"avg_over_time_one_series_26h", `avg_over_time(temperature_celsius[1h])`, benchLong},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			qa := st.open(b, end)
			eng := newEngine(b, EngineOptions{})
			for _, q := range queries {
				b.Run(q.name, func(b *testing.B) {
					start := time.UnixMilli(end).Add(-q.rng)
					var points int
					for b.Loop() {
						qry, err := eng.NewRangeQuery(context.Background(), qa, nil, q.q, start, time.UnixMilli(end), benchStep)
						require.NoError(b, err)
						res := qry.Exec(context.Background())
						require.NoError(b, res.Err)
						m, err := res.Matrix()
						require.NoError(b, err)
						points = 0
						for _, s := range m {
							points += len(s.Floats)
						}
						qry.Close()
					}
					require.NotZero(b, points, "%s answered no points", q.q)
					b.ReportMetric(float64(points), "points/op")
				})
			}
		})
	}
}

// BenchmarkBlocksQuery runs a range query over 24 hours held only in
// blocks (twelve 2h windows of 1,000 series every 15s, in a filesystem
// bucket), with a cold cache (every block downloaded by the query) and a
// warm one, for each chunk encoding of the blocks.
//
//	go test -run='^$' -bench=BlocksQuery -benchtime=5x ./promql/
func BenchmarkBlocksQuery(b *testing.B) {
	const series, windows = 1000, 12
	bd := (2 * time.Hour).Milliseconds()
	end := int64(windows) * bd
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Retention: 100 * time.Hour})
	require.NoError(b, err)
	defer h.Close()
	app := h.Appender()
	for i := range series {
		lset := labels.FromStrings("__name__", "http_requests_total", "instance", "host-"+strconv.Itoa(i%benchInstances), "handler", "/h"+strconv.Itoa(i/benchInstances))
		v := 0.0
		for t := int64(0); t < end; t += benchStep.Milliseconds() {
			v += float64(i%7 + 1)
			_, err := app.Append(0, lset, t, v)
			require.NoError(b, err)
		}
	}
	require.NoError(b, app.Commit())
	for _, enc := range []block.ChunkEncoding{block.EncodingXOR, block.EncodingXOR2, block.EncodingDense} {
		b.Run(string(enc), func(b *testing.B) { benchBlocksQuery(b, h, enc, windows, bd, end) })
	}
}

// benchBlocksQuery seals h's windows into blocks of encoding enc and runs
// the query of BenchmarkBlocksQuery over them.
func benchBlocksQuery(b *testing.B, h *head.Head, enc block.ChunkEncoding, windows int, bd, end int64) {
	bkt, err := filesystem.NewBucket(b.TempDir())
	require.NoError(b, err)
	staging := b.TempDir()
	for w := range int64(windows) {
		ss, err := h.WindowSeries(context.Background(), w*bd, (w+1)*bd-1)
		require.NoError(b, err)
		meta, err := block.Write(context.Background(), staging, w*bd, (w+1)*bd, ss, block.WriteOptions{Encoding: enc})
		require.NoError(b, err)
		require.NoError(b, block.Upload(context.Background(), bkt, filepath.Join(staging, meta.ULID.String())))
	}
	// A head that holds nothing: every sample comes from the bucket.
	empty, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1})
	require.NoError(b, err)
	defer empty.Close()

	newStore := func(b *testing.B) *block.Store {
		st, err := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: b.TempDir()})
		require.NoError(b, err)
		require.NoError(b, st.Sync(context.Background()))
		require.Len(b, st.AllMetas(), windows)
		return st
	}
	eng := newEngine(b, EngineOptions{})
	run := func(b *testing.B, qa storage.Queryable) {
		q, err := eng.NewRangeQuery(context.Background(), qa, nil, `sum by (instance) (rate(http_requests_total[5m]))`,
			time.UnixMilli(0), time.UnixMilli(end-1), 5*time.Minute)
		require.NoError(b, err)
		defer q.Close()
		res := q.Exec(context.Background())
		require.NoError(b, res.Err)
		m, err := res.Matrix()
		require.NoError(b, err)
		require.Len(b, m, benchInstances)
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			st := newStore(b)
			b.StartTimer()
			run(b, query.NewWithBlocks(empty, st))
			b.StopTimer()
			require.NoError(b, st.Close())
			b.StartTimer()
		}
	})
	b.Run("warm", func(b *testing.B) {
		st := newStore(b)
		defer st.Close()
		qa := query.NewWithBlocks(empty, st)
		run(b, qa)
		for b.Loop() {
			run(b, qa)
		}
	})
}

// BenchmarkMonthQuery runs `sum by (instance) (rate(x[2h]))` over 30 days
// at a 1h step on 1,000 counters sampled every minute, stored as thirty
// one-day blocks with their 5m and 1h roll-ups in a filesystem bucket:
// from raw blocks and from roll-ups (auto resolution picks the 5m ones).
//
//	go test -run='^$' -bench=MonthQuery -benchtime=3x ./promql/
func BenchmarkMonthQuery(b *testing.B) {
	const series, days, scrape = 1000, 30, int64(60 * 1000)
	day := (24 * time.Hour).Milliseconds()
	bkt, err := filesystem.NewBucket(b.TempDir())
	require.NoError(b, err)
	staging := b.TempDir()
	upload := func(mint, maxt int64, ss []model.ChunkSeries, res int64) {
		meta, err := block.Write(context.Background(), staging, mint, maxt, ss, block.WriteOptions{Resolution: res})
		require.NoError(b, err)
		require.NoError(b, block.Upload(context.Background(), bkt, filepath.Join(staging, meta.ULID.String())))
	}
	for d := range int64(days) {
		raw := make([]model.ChunkSeries, 0, series)
		for i := range series {
			c := chunkenc.NewXORChunk()
			app, err := c.Appender()
			require.NoError(b, err)
			for t := d * day; t < (d+1)*day; t += scrape {
				require.NoError(b, app.Append(t, float64((t/scrape)*int64(i%7+1))))
			}
			c.Compact()
			raw = append(raw, model.ChunkSeries{
				Labels: labels.FromStrings("__name__", "http_requests_total", "instance", "host-"+strconv.Itoa(i%benchInstances), "n", strconv.Itoa(i)),
				Chunks: []model.Chunk{{MinT: d * day, MaxT: (d+1)*day - scrape, Data: c.Bytes()}},
			})
		}
		slices.SortFunc(raw, func(x, y model.ChunkSeries) int { return labels.Compare(x.Labels, y.Labels) })
		upload(d*day, (d+1)*day, raw, 0)
		for _, res := range []int64{block.Resolution5m, block.Resolution1h} {
			rolled, err := block.Downsample(raw, res)
			require.NoError(b, err)
			upload(d*day, (d+1)*day, rolled, res)
		}
	}
	store, err := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: b.TempDir()})
	require.NoError(b, err)
	defer store.Close()
	require.NoError(b, store.Sync(context.Background()))
	empty, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1})
	require.NoError(b, err)
	defer empty.Close()
	qa := query.NewWithBlocks(empty, store)
	eng := newEngine(b, EngineOptions{})
	for _, res := range []struct {
		name string
		res  int64
	}{{"raw", 0}, {"rollups", query.AutoResolution}} {
		b.Run(res.name, func(b *testing.B) {
			ctx := query.WithMaxSourceResolution(context.Background(), res.res)
			run := func() {
				q, err := eng.NewRangeQuery(ctx, qa, nil, `sum by (instance) (rate(http_requests_total[2h]))`,
					time.UnixMilli(day), time.UnixMilli(days*day-1), time.Hour)
				require.NoError(b, err)
				r := q.Exec(ctx)
				require.NoError(b, r.Err)
				m, err := r.Matrix()
				require.NoError(b, err)
				require.Len(b, m, benchInstances)
				q.Close()
			}
			run() // fills the cache
			for b.Loop() {
				run()
			}
		})
	}
}
