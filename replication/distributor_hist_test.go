package replication_test

import (
	"context"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/query"
)

// testHistogramsReachReplicas writes integer and float native histograms
// through one node's distributor with RF=3 on three nodes: the local
// replica appends them and the two others receive them in the remote
// write 2.0 push, so every head holds them all.
func testHistogramsReachReplicas(t *testing.T, ms []*member) {
	d := distributor(t, ms[0], 3, false)
	app := d.Appender()
	lset := labels.FromStrings("__name__", "hist", "series", "0")
	ih := &histogram.Histogram{Count: 3, Sum: 1.5, Schema: 2, PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []int64{1, 1}, ZeroCount: 0}
	fh := &histogram.FloatHistogram{Count: 2.5, ZeroCount: 2.5, Sum: -1}
	ref, err := app.AppendHistogram(0, lset, 10, ih.Copy(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.AppendHistogram(ref, lset, 20, nil, fh.Copy()); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	d.Wait()
	for _, m := range ms {
		q, err := query.New(m.head).Querier(0, 100)
		if err != nil {
			t.Fatal(err)
		}
		ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "hist"))
		var got []*histogram.FloatHistogram
		for ss.Next() {
			it := ss.At().Iterator(nil)
			for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
				if vt != chunkenc.ValHistogram && vt != chunkenc.ValFloatHistogram {
					t.Fatalf("%s: sample of type %s, want histograms only", m.name, vt)
				}
				_, h := it.AtFloatHistogram(nil)
				got = append(got, h)
			}
		}
		_ = q.Close()
		if len(got) != 2 || !got[0].Equals(ih.ToFloat(nil)) || !got[1].Equals(fh) {
			t.Fatalf("%s holds %v, want [%v %v]", m.name, got, ih, fh)
		}
	}
}
