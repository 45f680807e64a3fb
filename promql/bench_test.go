package promql

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
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
			eng := NewEngine(EngineOptions{})
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

