package head

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// testHist returns a counter histogram whose counts grow with i.
func testHist(i int) *histogram.Histogram {
	n := uint64(i + 1)
	return &histogram.Histogram{
		Schema: 1, ZeroThreshold: 0.001, ZeroCount: n, Count: 4 * n, Sum: float64(10 * n),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets: []int64{int64(n), 0, int64(n)},
		NegativeSpans:   []histogram.Span{{Offset: 0, Length: 1}}, NegativeBuckets: []int64{0},
	}
}

func appendHist(t *testing.T, h *Head, lset labels.Labels, ts int64, ih *histogram.Histogram, fh *histogram.FloatHistogram) error {
	t.Helper()
	app := h.Appender()
	if _, err := app.AppendHistogram(0, lset, ts, ih, fh); err != nil {
		_ = app.Rollback()
		return err
	}
	return app.Commit()
}

// readHists returns every histogram (as float histograms) and float of
// the series, in time order, as a query reads them.
func readHists(t *testing.T, h *Head, lset labels.Labels) (ts []int64, hs []*histogram.FloatHistogram) {
	t.Helper()
	ss, err := h.Select(context.Background(), math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "__name__", lset.Get("__name__")))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if !labels.Equal(s.Labels, lset) {
			continue
		}
		it := s.HistIterator()
		for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
			tt, fh := it.AtFloatHistogram(nil)
			ts, hs = append(ts, tt), append(hs, fh)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return ts, hs
}

func TestHistogramsAppendAndRead(t *testing.T) {
	h := openTest(t, nil)
	lset := series("lat")
	const n = 300 // more than one chunk
	for i := 0; i < n; i++ {
		if err := appendHist(t, h, lset, int64(i)*1000, testHist(i), nil); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	fh := &histogram.FloatHistogram{Count: 2.5, ZeroCount: 2.5, Sum: 1}
	if err := appendHist(t, h, lset, n*1000, nil, fh); err != nil {
		t.Fatalf("append float histogram: %v", err)
	}
	ts, hs := readHists(t, h, lset)
	if len(ts) != n+1 {
		t.Fatalf("read %d histograms, want %d", len(ts), n+1)
	}
	for i := 0; i < n; i++ {
		if ts[i] != int64(i)*1000 || !hs[i].Equals(testHist(i).ToFloat(nil)) {
			t.Fatalf("histogram %d at %d: got %v, want %v", i, ts[i], hs[i], testHist(i))
		}
	}
	if !hs[n].Equals(fh) {
		t.Fatalf("float histogram: got %v, want %v", hs[n], fh)
	}
	info, _ := h.Info(lset)
	if info.Ref == 0 {
		t.Fatalf("series not found")
	}
}

func TestHistogramsDuplicatesAndRetries(t *testing.T) {
	h := openTest(t, nil)
	lset := series("lat")
	if err := appendHist(t, h, lset, 1000, testHist(1), nil); err != nil {
		t.Fatal(err)
	}
	// An exact retry is accepted and stored once.
	if err := appendHist(t, h, lset, 1000, testHist(1), nil); err != nil {
		t.Fatalf("retry: got %v, want nil", err)
	}
	// Another histogram at the same time is a duplicate.
	if err := appendHist(t, h, lset, 1000, testHist(2), nil); !errors.Is(err, model.ErrDuplicateSample) {
		t.Fatalf("other histogram at a stored time: got %v, want ErrDuplicateSample", err)
	}
	// A float where a histogram is, and a histogram where a float is.
	if err := h.Append(lset, 2000, 1); err != nil {
		t.Fatal(err)
	}
	if err := appendHist(t, h, lset, 2000, testHist(3), nil); !errors.Is(err, model.ErrDuplicateSample) {
		t.Fatalf("histogram at a float's time: got %v, want ErrDuplicateSample", err)
	}
	if ts, _ := readHists(t, h, lset); len(ts) != 1 {
		t.Fatalf("stored %d histograms, want 1", len(ts))
	}
}

func TestHistogramsOutOfOrder(t *testing.T) {
	h := openTest(t, nil)
	lset := series("lat")
	for _, ts := range []int64{10_000, 30_000, 20_000, 5_000} {
		if err := appendHist(t, h, lset, ts, testHist(int(ts/1000)), nil); err != nil {
			t.Fatalf("append at %d: %v", ts, err)
		}
	}
	// Older than the out-of-order window (an hour by default).
	far := int64(30_000 + 2*3600*1000)
	if err := appendHist(t, h, lset, far, testHist(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := appendHist(t, h, lset, 15_000, testHist(15), nil); !errors.Is(err, model.ErrOutOfWindow) {
		t.Fatalf("histogram outside the window: got %v, want ErrOutOfWindow", err)
	}
	ts, hs := readHists(t, h, lset)
	want := []int64{5_000, 10_000, 20_000, 30_000, far}
	if len(ts) != len(want) {
		t.Fatalf("got times %v, want %v", ts, want)
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Fatalf("got times %v, want %v", ts, want)
		}
	}
	if !hs[2].Equals(testHist(20).ToFloat(nil)) {
		t.Fatalf("out-of-order histogram at 20s: got %v", hs[2])
	}
}

func TestHistogramsSurviveRestart(t *testing.T) {
	for _, checkpoint := range []bool{false, true} {
		h := openTest(t, nil)
		lset := series("lat", "job", "a")
		for i := 0; i < 150; i++ {
			if err := appendHist(t, h, lset, int64(i)*1000, testHist(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		fh := &histogram.FloatHistogram{Schema: histogram.CustomBucketsSchema, Count: 3, Sum: 4, CustomValues: []float64{1},
			PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []float64{1, 2}}
		if err := appendHist(t, h, lset, 200_000, nil, fh); err != nil {
			t.Fatal(err)
		}
		if checkpoint {
			if err := h.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		wantT, wantH := readHists(t, h, lset)
		h2 := reopen(t, h)
		gotT, gotH := readHists(t, h2, lset)
		if len(gotT) != len(wantT) || len(wantT) != 151 {
			t.Fatalf("checkpoint %v: replayed %d histograms, want %d (151)", checkpoint, len(gotT), len(wantT))
		}
		for i := range wantT {
			if gotT[i] != wantT[i] || !gotH[i].Equals(wantH[i]) {
				t.Fatalf("checkpoint %v: histogram %d: got %v at %d, want %v at %d", checkpoint, i, gotH[i], gotT[i], wantH[i], wantT[i])
			}
		}
		// Appending goes on after the replay.
		if err := appendHist(t, h2, lset, 300_000, nil, fh.Copy()); err != nil {
			t.Fatalf("checkpoint %v: append after replay: %v", checkpoint, err)
		}
	}
}

func TestHistogramsRetention(t *testing.T) {
	h := openTest(t, nil)
	lset := series("lat")
	if err := appendHist(t, h, lset, 1000, testHist(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := appendHist(t, h, lset, 3*testWindow, testHist(2), nil); err != nil {
		t.Fatal(err)
	}
	h.Truncate(2 * testWindow)
	if ts, _ := readHists(t, h, lset); len(ts) != 1 || ts[0] != 3*testWindow {
		t.Fatalf("after truncation: got times %v, want [%d]", ts, 3*testWindow)
	}
}

func TestHistogramsCountedInInfo(t *testing.T) {
	h := openTest(t, nil)
	lset := series("lat")
	if err := h.Append(lset, 500, 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := appendHist(t, h, lset, int64(1000+i), testHist(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	info, ok := h.Info(lset)
	if !ok || info.Samples != 4 || info.Chunks != 2 || info.MinTime != 500 || info.MaxTime != 1002 || info.ChunkBytes == 0 {
		t.Fatalf("info: got %+v, want 4 samples in 2 chunks over [500, 1002]", info)
	}
}

// TestHistogramsCheckpointedAfterUpload: windows reported uploaded are left
// out of checkpoints, but their histograms stay (LoadSealed brings back float
// chunks only) and survive a restart.
func TestHistogramsCheckpointedAfterUpload(t *testing.T) {
	h := openTest(t, func(o *Options) { o.Shipping = true })
	lset := series("lat")
	if err := appendHist(t, h, lset, 1000, testHist(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := appendHist(t, h, lset, 3*testWindow, testHist(2), nil); err != nil {
		t.Fatal(err)
	}
	h.SealBefore(2 * testWindow)
	h.SetShipped(2 * testWindow)
	if err := h.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	h2 := reopen(t, h)
	if ts, _ := readHists(t, h2, lset); len(ts) != 2 || ts[0] != 1000 {
		t.Fatalf("after restart: got times %v, want [1000 %d]", ts, 3*testWindow)
	}
}
