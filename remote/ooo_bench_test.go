package remote

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// headStore is the head as the handler's store, as the server wires it.
type headStore struct{ h *head.Head }

func (s headStore) Appender() Appender { return s.h.Appender() }

// descendingRequest is a remote-write 1.0 request of one series holding n
// samples 1ms apart, newest first, ending at end.
func descendingRequest(b *testing.B, name string, n int, end int64) []byte {
	samples := make([]prompb.Sample, n)
	for i := range samples {
		samples[i] = prompb.Sample{Timestamp: end - int64(i), Value: float64(i)}
	}
	return encodeRW1(b, series1(lbls("__name__", name, "job", "bench"), samples...))
}

// BenchmarkWriteHandlerOutOfOrder posts requests of one series with n
// samples in descending time order (every one but the first out of order)
// to the write handler over a real head, and reports the seconds per
// request, the nanoseconds per sample and the decompressed size of the
// body, which DefaultMaxDecodedBytes bounds.
func BenchmarkWriteHandlerOutOfOrder(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Stripes: 64})
			require.NoError(b, err)
			defer h.Close()
			wh := newHandler(b, headStore{h}, WriteOptions{})
			end := time.Now().UnixMilli()
			var decoded int
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				body := descendingRequest(b, fmt.Sprintf("ooo_%d", i), n, end)
				decoded, _ = decodedLen(body, DefaultMaxDecodedBytes, "MaxDecodedBytes")
				b.StartTimer()
				if w := post(wh, body); w.Code != http.StatusNoContent {
					b.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/request")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
			b.ReportMetric(float64(decoded), "decoded-bytes/request")
		})
	}
}
