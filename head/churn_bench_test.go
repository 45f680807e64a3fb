package head

import (
	"runtime"
	"testing"
)

// BenchmarkSeriesChurn runs ten rounds that each replace 100,000 series by
// 100,000 new ones, closing windows in between so that retention drops the
// old series, and reports the live heap after garbage collection: after
// the first round, after the last, and their ratio. A head whose per-series
// state (symbols, postings, series maps) is released with its series keeps
// the ratio near 1. Run it with -benchtime=1x.
func BenchmarkSeriesChurn(b *testing.B) {
	const rounds, series = 10, 100_000
	for range b.N {
		h := openTest(b, func(o *Options) { o.Stripes = 1024 })
		var heap [rounds]uint64
		for r := range rounds {
			churnRound(b, h, r, series)
			settle(h)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap[r] = ms.HeapAlloc
			b.Logf("round %d: %d series, %d symbols, heap %.1f MiB", r, h.Stats().Series, symbolCount(h), float64(ms.HeapAlloc)/(1<<20))
		}
		b.ReportMetric(float64(heap[0]), "heap-bytes-first")
		b.ReportMetric(float64(heap[rounds-1]), "heap-bytes-last")
		b.ReportMetric(float64(heap[rounds-1])/float64(heap[0]), "heap-ratio")
		if err := h.Close(); err != nil {
			b.Fatalf("close: %v", err)
		}
	}
}
