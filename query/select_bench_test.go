package query

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// BenchmarkSelectBuffered reads 10,000 series of 240 samples 15 s apart
// (an hour, sealed and open chunks) as the engine reads a range selector:
// a select of the head alone, every series through the engine's buffered
// iterator over [5m] windows, seeking each step of 1 m from a time
// (start) to the end. "whole" starts at the first sample; "last_10m"
// starts 10 minutes before the end, so the seeks pass most of every
// series. It reports the time and the allocations per series read.
func BenchmarkSelectBuffered(b *testing.B) {
	const series, samples = 10_000, 240
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Retention: 100 * time.Hour})
	require.NoError(b, err)
	b.Cleanup(func() { _ = h.Close() })
	for ts := range int64(samples) {
		app := h.Appender()
		for i := range series {
			lset := labels.FromStrings("__name__", "bench", "i", strconv.Itoa(i))
			_, err := app.Append(0, lset, ts*15_000, float64(ts*int64(i%7)))
			require.NoError(b, err)
		}
		require.NoError(b, app.Commit())
	}
	end := int64(samples-1) * 15_000
	match := labels.MustNewMatcher(labels.MatchEqual, "__name__", "bench")
	const window, step = 5 * 60_000, 60_000
	for _, tc := range []struct {
		name  string
		start int64
	}{{"whole", 0}, {"last_10m", end - 10*60_000}} {
		b.Run(tc.name, func(b *testing.B) {
			q := New(h)
			var read int
			for b.Loop() {
				qr, err := q.Querier(tc.start-window, end)
				require.NoError(b, err)
				ss := qr.Select(context.Background(), false, &storage.SelectHints{Start: tc.start - window, End: end, Range: window, Step: step}, match)
				buf := storage.NewBuffer(window)
				var it pchunkenc.Iterator
				for ss.Next() {
					it = ss.At().Iterator(it)
					buf.Reset(it)
					for t := tc.start; t <= end; t += step {
						if buf.Seek(t) == pchunkenc.ValNone {
							break
						}
						read++
					}
				}
				require.NoError(b, ss.Err())
				require.NoError(b, qr.Close())
			}
			require.NotZero(b, read)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*series), "ns/series")
		})
	}
}
