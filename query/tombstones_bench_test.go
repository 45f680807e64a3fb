package query

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// BenchmarkSelectWithTombstones reads 1,000 series of 120 samples each
// through the sample querier, with no tombstone, with tombstones that match
// no series, and with one deleting a slice of every series. It reports the
// time per sample read.
func BenchmarkSelectWithTombstones(b *testing.B) {
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Stripes: 16, Retention: 100 * time.Hour})
	require.NoError(b, err)
	b.Cleanup(func() { _ = h.Close() })
	app := h.Appender()
	for i := range 1000 {
		lset := labels.FromStrings("__name__", "bench", "i", strconv.Itoa(i))
		for ts := int64(0); ts < 120; ts++ {
			_, err := app.Append(0, lset, ts*15_000, float64(ts))
			require.NoError(b, err)
		}
	}
	require.NoError(b, app.Commit())
	match := labels.MustNewMatcher(labels.MatchEqual, "__name__", "bench")
	for _, tc := range []struct {
		name  string
		tombs []Tombstone
	}{
		{"none", nil},
		{"10_unmatched", unmatched(10)},
		{"1_matching", []Tombstone{{Tenant: AnonymousTenant, Matchers: []*labels.Matcher{match}, Mint: 300_000, Maxt: 600_000}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts, err := OpenTombstones("")
			require.NoError(b, err)
			if len(tc.tombs) > 0 {
				require.NoError(b, ts.Add(context.Background(), tc.tombs...))
			}
			q := New(h, WithTombstones(ts))
			var it pchunkenc.Iterator
			samples := 0
			b.ReportAllocs()
			for b.Loop() {
				sq, err := q.Querier(0, 1<<40)
				require.NoError(b, err)
				ss := sq.Select(context.Background(), true, nil, match)
				for ss.Next() {
					it = ss.At().Iterator(it)
					for it.Next() != pchunkenc.ValNone {
						samples++
					}
				}
				require.NoError(b, ss.Err())
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
		})
	}
}

func unmatched(n int) []Tombstone {
	out := make([]Tombstone, n)
	for i := range out {
		out[i] = Tombstone{
			Tenant: AnonymousTenant, Mint: 0, Maxt: 1 << 40,
			Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", fmt.Sprint("gone", i))},
		}
	}
	return out
}
