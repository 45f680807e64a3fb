package remote

import (
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/limits"
)

// processMemory returns the memory the Go runtime holds from the OS and has
// not given back: the part of the resident set it controls.
func processMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// spikeRequest is a request of n new series, numbered from first.
func spikeRequest(first, n int, ts int64) *prompb.WriteRequest {
	r := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, n)}
	for i := range r.Timeseries {
		r.Timeseries[i] = prompb.TimeSeries{
			Labels:  lbls("__name__", "spike", "instance", "host-"+strconv.Itoa(first+i), "job", "node"),
			Samples: []prompb.Sample{{Timestamp: ts, Value: 1}},
		}
	}
	return r
}

// BenchmarkSeriesSpikeMemoryGuard sends an unbounded spike of new series
// against a memory guard set 64 MiB above the heap at start, and reports
// the peak memory the runtime held against the limit (peak/limit: the
// guard keeps it within 2), the series admitted and the requests refused.
func BenchmarkSeriesSpikeMemoryGuard(b *testing.B) {
	const perRequest, extra = 1000, 20
	for b.Loop() {
		runtime.GC()
		limit := heapObjects() + 64<<20
		guard := limits.NewMemoryGuard(limit, limits.MemoryGuardOptions{Refresh: 10 * time.Millisecond})
		ov, err := limits.NewOverrides(limits.Defaults(), "")
		if err != nil {
			b.Fatal(err)
		}
		tr := limits.NewSeriesTracker(ov, guard)
		hd, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Limiter: tr.ForTenant(limits.Anonymous)})
		if err != nil {
			b.Fatal(err)
		}
		h, err := NewWriteHandler(headStore{hd}, WriteOptions{Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		var peak uint64
		refused := 0
		for i := 0; refused < extra; i++ {
			w := post(h, encodeRW1(b, spikeRequest(i*perRequest, perRequest, now.UnixMilli())))
			switch w.Code {
			case http.StatusNoContent:
			case http.StatusServiceUnavailable:
				refused++
			default:
				b.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			peak = max(peak, processMemory())
		}
		b.ReportMetric(float64(peak)/float64(limit), "peak/limit")
		b.ReportMetric(float64(tr.Series(limits.Anonymous)), "series")
		b.ReportMetric(float64(refused), "refused_requests")
		h.Close()
		if err := hd.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
