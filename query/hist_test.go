package query

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// histTimes reads the series of ms through both querier kinds and returns,
// per series, the timestamps of its floats (f) and histograms (h) in the
// order read: samples first, then what the chunks hold.
func histTimes(t *testing.T, q *Queryable, mint, maxt int64, ms ...*labels.Matcher) (samples, chunked []string) {
	t.Helper()
	sq, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	ss := sq.Select(context.Background(), true, nil, ms...)
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
			samples = append(samples, kindAt(vt, it.AtT()))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	cq, err := q.ChunkQuerier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer cq.Close()
	cs := cq.Select(context.Background(), true, nil, ms...)
	for cs.Next() {
		ci := cs.At().Iterator(nil)
		for ci.Next() {
			it := ci.At().Chunk.Iterator(nil)
			for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
				if ts := it.AtT(); ts >= mint && ts <= maxt {
					chunked = append(chunked, kindAt(vt, ts))
				}
			}
		}
		if err := ci.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return samples, chunked
}

func kindAt(vt pchunkenc.ValueType, ts int64) string {
	if vt == pchunkenc.ValFloat {
		return "f" + strconv.FormatInt(ts, 10)
	}
	return "h" + strconv.FormatInt(ts, 10)
}

// TestHistogramsQueriedWithFloats: a series holding floats and native
// histograms reads in time order through samples and chunks, and a
// deletion hides histograms from both.
func TestHistogramsQueriedWithFloats(t *testing.T) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	lset := labels.FromStrings("__name__", "mixed")
	app := h.Appender()
	for _, ts := range []int64{1000, 3000} {
		if _, err := app.Append(0, lset, ts, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, ts := range []int64{2000, 4000, 5000} {
		hh := &histogram.Histogram{Count: uint64(ts), ZeroCount: uint64(ts)}
		if _, err := app.AppendHistogram(0, lset, ts, hh, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	m := labels.MustNewMatcher(labels.MatchEqual, "__name__", "mixed")
	samples, chunked := histTimes(t, New(h), 0, 10_000, m)
	want := "f1000 h2000 f3000 h4000 h5000"
	if got := strings.Join(samples, " "); got != want {
		t.Fatalf("samples: got %s, want %s", got, want)
	}
	if got := strings.Join(chunked, " "); got != "f1000 f3000 h2000 h4000 h5000" {
		t.Fatalf("chunks: got %s, want the float chunk, then the histogram chunk", got)
	}

	ts, err := OpenTombstones(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Add(context.Background(), Tombstone{Tenant: AnonymousTenant, Mint: 3500, Maxt: 4500, Matchers: []*labels.Matcher{m}}); err != nil {
		t.Fatal(err)
	}
	samples, chunked = histTimes(t, New(h, WithTombstones(ts)), 0, 10_000, m)
	if got := strings.Join(samples, " "); got != "f1000 h2000 f3000 h5000" {
		t.Fatalf("samples after deletion: got %s", got)
	}
	if got := strings.Join(chunked, " "); got != "f1000 f3000 h2000 h5000" {
		t.Fatalf("chunks after deletion: got %s", got)
	}
}

// TestHistogramsReadFromBlocks seals windows holding floats and native
// histograms into blocks and reads them back through the blocks and the
// head: samples in order, chunks as stored, a histogram-only series too.
func TestHistogramsReadFromBlocks(t *testing.T) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Retention: 100 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	mixed := labels.FromStrings("__name__", "mixed")
	only := labels.FromStrings("__name__", "only")
	app := h.Appender()
	var want []string
	for w := int64(0); w < 3; w++ {
		ts := w*window + 1000
		if _, err := app.Append(0, mixed, ts, 1); err != nil {
			t.Fatal(err)
		}
		hh := &histogram.Histogram{Count: uint64(ts), ZeroCount: uint64(ts)}
		if _, err := app.AppendHistogram(0, mixed, ts+1000, hh, nil); err != nil {
			t.Fatal(err)
		}
		fh := &histogram.FloatHistogram{Count: 1, ZeroCount: 1}
		if _, err := app.AppendHistogram(0, only, ts, nil, fh); err != nil {
			t.Fatal(err)
		}
		want = append(want, "f"+strconv.FormatInt(ts, 10), "h"+strconv.FormatInt(ts+1000, 10))
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	blocks := sealWindows(t, h, 0, 1)
	h.Truncate(2 * window)
	q := NewWithBlocks(h, blocks)
	if b := q.boundary(); b != 2*window {
		t.Fatalf("boundary: got %d, want %d", b, 2*window)
	}
	samples, _ := histTimes(t, q, 0, 3*window, labels.MustNewMatcher(labels.MatchEqual, "__name__", "mixed"))
	if got, w := strings.Join(samples, " "), strings.Join(want, " "); got != w {
		t.Fatalf("mixed series: got %s, want %s", got, w)
	}
	samples, chunked := histTimes(t, q, 0, 3*window, labels.MustNewMatcher(labels.MatchEqual, "__name__", "only"))
	wantOnly := "h1000 h" + strconv.FormatInt(window+1000, 10) + " h" + strconv.FormatInt(2*window+1000, 10)
	if got := strings.Join(samples, " "); got != wantOnly {
		t.Fatalf("histogram-only series: got %s, want %s", got, wantOnly)
	}
	if got := strings.Join(chunked, " "); got != wantOnly {
		t.Fatalf("histogram-only series as chunks: got %s, want %s", got, wantOnly)
	}
}
