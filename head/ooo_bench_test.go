package head

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// BenchmarkOutOfOrderDescending commits one batch of n samples of one new
// series in descending time order, 1ms apart, inside one block window: the
// first is in order, every other one out of order. The retry cases commit
// the same batch again, to a series that holds it already, as a sender does
// when the first answer did not reach it. It reports the seconds one such
// request takes and the nanoseconds per sample.
func BenchmarkOutOfOrderDescending(b *testing.B) {
	for _, retry := range []bool{false, true} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("retry=%v/n=%d", retry, n), func(b *testing.B) {
				benchOutOfOrderDescending(b, n, retry)
			})
		}
	}
}

func benchOutOfOrderDescending(b *testing.B, n int, retry bool) {
	h := openTest(b, func(o *Options) { o.OutOfOrderWindow = time.Hour })
	// The window [0, 2h) holds every sample.
	base := time.Hour.Milliseconds()
	commit := func(lset labels.Labels) {
		app := h.Appender()
		for k := range n {
			t := base + int64(n-1-k)
			if _, err := app.Append(0, lset, t, float64(t)); err != nil {
				b.Fatal(err)
			}
		}
		require.NoError(b, app.Commit())
	}
	if retry {
		commit(series("ooo"))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		lset := series("ooo")
		if !retry {
			i++
			lset = series("ooo", "i", fmt.Sprint(i))
		}
		commit(lset)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/request")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}
