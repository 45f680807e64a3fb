package query

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// dumpSeriesSet writes every series of ss with its samples, one string
// per series, sorted, the iterator reused from series to series.
func dumpSeriesSet(t *testing.T, ss storage.SeriesSet) []string {
	t.Helper()
	var out []string
	var it pchunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		line := s.Labels().String()
		for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
			switch vt {
			case pchunkenc.ValFloat:
				ts, v := it.At()
				line += fmt.Sprintf(" f%d=%v", ts, v)
			default:
				ts, fh := it.AtFloatHistogram(nil)
				line += fmt.Sprintf(" h%d=%v", ts, fh.Count)
			}
		}
		if err := it.Err(); err != nil {
			line += " err=" + err.Error()
		}
		out = append(out, line)
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestSelectHeadOnlyAsParts checks that a select of the head alone, which
// hands out the head's snapshots without parts, answers what the
// part-by-part path answers: the same series with the same samples, for
// float series, series with out-of-order samples and series with native
// histograms, over ranges cutting them.
func TestSelectHeadOnlyAsParts(t *testing.T) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	app := h.Appender()
	for i := range 50 {
		lset := labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "odd", fmt.Sprint(i%2))
		for ts := int64(10); ts < 40; ts++ {
			if _, err := app.Append(0, lset, ts*1000, float64(int64(i)*ts)); err != nil {
				t.Fatal(err)
			}
		}
	}
	hist := labels.FromStrings("__name__", "m", "i", "hist", "odd", "0")
	for ts := int64(10); ts < 40; ts += 3 {
		hh := &histogram.Histogram{Count: uint64(ts), ZeroCount: uint64(ts)}
		if _, err := app.AppendHistogram(0, hist, ts*1000+500, hh, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	app = h.Appender() // out of order, behind the newest samples
	for i := range 10 {
		lset := labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "odd", fmt.Sprint(i%2))
		if _, err := app.Append(0, lset, 20_500, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	q := New(h)
	matchers := [][]*labels.Matcher{
		{labels.MustNewMatcher(labels.MatchEqual, "__name__", "m")},
		{labels.MustNewMatcher(labels.MatchEqual, "odd", "1")},
		{labels.MustNewMatcher(labels.MatchRegexp, "i", "1.|hist")},
	}
	for _, r := range [][2]int64{{0, 100_000}, {15_000, 25_000}, {20_500, 20_500}, {39_000, 90_000}} {
		for k, ms := range matchers {
			hints := &storage.SelectHints{Start: r[0], End: r[1]}
			qr, err := q.Querier(r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			ss := qr.Select(context.Background(), false, hints, ms...)
			if _, ok := ss.(*headSeriesSet); !ok {
				t.Fatalf("a select of the head alone answers a %T", ss)
			}
			got := dumpSeriesSet(t, ss)
			parts, _, err := q.selectParts(context.Background(), r[0], r[1], ms, hints, false)
			if err != nil {
				t.Fatal(err)
			}
			want := dumpSeriesSet(t, &seriesSet{parts: parts, i: -1, corrupt: q.corrupt})
			if len(want) == 0 {
				t.Fatalf("range %v matchers %d: nothing selected", r, k)
			}
			if r[0] == 0 && k == 0 {
				joined := strings.Join(got, "\n")
				if !strings.Contains(joined, " f20500=-1") || !strings.Contains(joined, " h10500=") {
					t.Fatalf("the out-of-order samples or the histograms are missing:\n%s", joined)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("range %v matchers %d:\ngot  %q\nwant %q", r, k, got, want)
			}
		}
	}
}
