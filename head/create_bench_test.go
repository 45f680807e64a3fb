package head

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// targetLabels returns the labels of series i shaped like a scrape target's:
// 120 series per target (the instance), ten labels, most values shared by
// many series, as the peer benchmark's workload sends them.
func targetLabels(b *labels.ScratchBuilder, i int) labels.Labels {
	n, slot := i/120, i%120
	b.Reset()
	b.Add(labels.MetricName, "metric_"+strconv.Itoa(slot/2)+"_total")
	b.Add("env", [2]string{"production", "staging"}[min(n%10/9, 1)])
	b.Add("instance", "10."+strconv.Itoa(n>>16&255)+"."+strconv.Itoa(n>>8&255)+"."+strconv.Itoa(n&255)+":9100")
	b.Add("job", [4]string{"node", "api", "db", "cache"}[n%4])
	b.Add("method", [2]string{"GET", "POST"}[slot%2])
	b.Add("path", [5]string{"/", "/api/v1/query", "/metrics", "/login", "/static"}[(n+slot)%5])
	b.Add("region", [3]string{"eu-west-1", "us-east-1", "ap-south-1"}[n%3])
	b.Add("service", [7]string{"web", "auth", "search", "billing", "cart", "mail", "feed"}[n%7])
	b.Add("status", [2]string{"200", "500"}[slot%2])
	b.Add("zone", "z"+strconv.Itoa(n%3))
	return b.Labels()
}

// BenchmarkSeriesCreate creates new series in batches of 2,000, one sample
// each and one commit per batch, as a remote-write request of series never
// seen before does. The head keeps every series, so later batches insert
// into a larger index. It reports series created per second and the live
// heap per series at the end.
func BenchmarkSeriesCreate(b *testing.B) {
	const batch = 2000
	h := openTest(b, func(o *Options) { o.Stripes = DefaultStripes })
	var sb labels.ScratchBuilder
	lsets := make([]labels.Labels, batch)
	app := h.Appender()
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range lsets {
			lsets[i] = targetLabels(&sb, next)
			next++
		}
		b.StartTimer()
		for i, ls := range lsets {
			if _, err := app.Append(0, ls, 1000, float64(i)); err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "series/s")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/float64(next), "heap-inuse/series")
	require.NoError(b, h.Close())
}

// BenchmarkSeriesHeld fills a head with 1,000,000 series of six samples
// each (six rounds of one sample per series, in 2,000-series commits) and
// reports the live heap per series after garbage collection: HeapInuse,
// everything the head holds, chunks included. Run it with -benchtime=1x.
func BenchmarkSeriesHeld(b *testing.B) {
	const series, rounds, batch = 1_000_000, 6, 2000
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		h := openTest(b, func(o *Options) { o.Stripes = DefaultStripes })
		var sb labels.ScratchBuilder
		app := h.Appender()
		for r := range rounds {
			for i := range series {
				if _, err := app.Append(0, targetLabels(&sb, i), int64(r)*15_000, float64(i+r)); err != nil {
					b.Fatal(err)
				}
				if i%batch == batch-1 {
					require.NoError(b, app.Commit())
				}
			}
			require.NoError(b, app.Commit())
		}
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		st := h.Stats()
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/series, "heap-inuse/series")
		b.ReportMetric(float64(st.ChunkBytes)/series, "chunk-bytes/series")
		runtime.KeepAlive(h)
		require.NoError(b, h.Close())
		b.StartTimer()
	}
}
