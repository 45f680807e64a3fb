package limits

import (
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// BenchmarkSeriesAdmit measures what a new series pays for the series
// limits and the memory guard: one Admit and one Remove.
func BenchmarkSeriesAdmit(b *testing.B) {
	ov, err := NewOverrides(Limits{MaxSeries: 1 << 30, MaxSeriesPerMetric: 1 << 30}, "")
	if err != nil {
		b.Fatal(err)
	}
	tr := NewSeriesTracker(ov, NewMemoryGuard(1<<62, MemoryGuardOptions{}))
	lsets := make([]labels.Labels, 1024)
	for i := range lsets {
		lsets[i] = labels.FromStrings("__name__", "metric_"+strconv.Itoa(i%64), "i", strconv.Itoa(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l := lsets[i%len(lsets)]
		if err := tr.Admit(Anonymous, l); err != nil {
			b.Fatal(err)
		}
		tr.Remove(Anonymous, l)
	}
}

// BenchmarkRateAllow measures the ingestion rate check of one request.
func BenchmarkRateAllow(b *testing.B) {
	ov, err := NewOverrides(Limits{IngestionRate: 1e18, IngestionBurst: 1 << 40}, "")
	if err != nil {
		b.Fatal(err)
	}
	r := NewRateLimiter(ov, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Allow(Anonymous, 2000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/sample")
}
