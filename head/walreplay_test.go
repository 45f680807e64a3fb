package head

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestReplayedSegments: a reopened head reports the WAL segments it read
// back, the newest being the one written last.
func TestReplayedSegments(t *testing.T) {
	dir := t.TempDir()
	open := func() *Head {
		t.Helper()
		h, err := Open(Options{Dir: dir, MaintenanceInterval: -1})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return h
	}
	h := open()
	first0, last0 := h.ReplayedSegments()
	if err := h.Append(labels.FromStrings("__name__", "replay_test"), 1000, 1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.wal.Cut(); err != nil {
			t.Fatal(err)
		}
	}
	_, writing, err := h.wal.Segments()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = open()
	defer h.Close()
	first, last := h.ReplayedSegments()
	if first != first0 || last < writing || last < last0+2 {
		t.Fatalf("after two cuts: ReplayedSegments() = %d, %d; want %d and at least %d (first open: %d, %d)",
			first, last, first0, max(writing, last0+2), first0, last0)
	}
}

// TestReplayWorkers: a WAL whose records interleave the series of several
// commits replays the same on one core as on several. Every series keeps
// its samples in order, a label set logged under two refs (dropped and
// created again) is one series holding the samples of both, samples of a
// ref never logged are skipped, the index finds every series under each of
// its labels, and new series get refs above every replayed one.
func TestReplayWorkers(t *testing.T) {
	for _, procs := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("procs=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			testReplayWorkers(t)
		})
	}
}

func testReplayWorkers(t *testing.T) {
	const seriesN, rounds, dupRef, dupN = 3000, 4, 10_001, 100
	opts := Options{Dir: t.TempDir(), MaintenanceInterval: -1, OutOfOrderWindow: model.OutOfOrderOff}
	lset := func(i int) labels.Labels {
		return series(fmt.Sprintf("m%d", i%7), "instance", fmt.Sprintf("host-%d", i/10), "i", fmt.Sprint(i))
	}
	h, err := Open(opts)
	require.NoError(t, err)
	var recs [][]byte
	// Two writers: even series and odd series, their series and samples
	// records interleaved, refs out of log order.
	for w := range 2 {
		var srs []seriesRecord
		for i := w; i < seriesN; i += 2 {
			srs = append(srs, seriesRecord{Ref: model.SeriesRef(seriesN - i), Labels: lset(i)})
		}
		recs = append(recs, encodeSeries(nil, srs))
	}
	for r := range rounds {
		for w := range 2 {
			var smps []sampleRecord
			for i := w; i < seriesN; i += 2 {
				smps = append(smps, sampleRecord{Ref: model.SeriesRef(seriesN - i), T: int64(r) * 1000, V: float64(i*rounds + r)})
			}
			smps = append(smps, sampleRecord{Ref: 99_999, T: int64(r) * 1000, V: 1}) // never logged
			recs = append(recs, encodeSamples(nil, smps))
		}
	}
	// Series 0 (ref seriesN) logged again under dupRef, with later samples.
	// Without an out-of-order window, a sample of one ref appended after
	// a later one of the other would be refused.
	recs = append(recs, encodeSeries(nil, []seriesRecord{{Ref: dupRef, Labels: lset(0)}}))
	var dupWant []model.Sample
	for k := range int64(dupN) {
		t0 := (rounds + 2*k) * 1000
		recs = append(recs, encodeSamples(nil, []sampleRecord{{Ref: dupRef, T: t0, V: -1}, {Ref: seriesN, T: t0 + 1000, V: -2}}))
		dupWant = append(dupWant, model.Sample{T: t0, V: -1}, model.Sample{T: t0 + 1000, V: -2})
	}
	require.NoError(t, h.wal.Log(recs...))
	require.NoError(t, h.Close())

	h, err = Open(opts)
	require.NoError(t, err)
	defer h.Close()
	require.Equal(t, seriesN, h.Stats().Series, "series")
	for i := range seriesN {
		want := make([]model.Sample, rounds)
		for r := range rounds {
			want[r] = model.Sample{T: int64(r) * 1000, V: float64(i*rounds + r)}
		}
		if i == 0 {
			want = append(want, dupWant...)
		}
		requireSamples(t, want, mustRange(t, h, lset(i)))
	}
	for _, m := range []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, "__name__", "m3"),
		labels.MustNewMatcher(labels.MatchEqual, "instance", "host-42"),
		labels.MustNewMatcher(labels.MatchRegexp, "i", ".+"),
	} {
		var want []model.SeriesRef
		for i := range seriesN {
			if m.Matches(lset(i).Get(m.Name)) {
				want = append(want, model.SeriesRef(seriesN-i))
			}
		}
		slices.Sort(want)
		require.Equal(t, want, h.index.match([]*labels.Matcher{m}), "postings of %s", m)
	}
	app := h.Appender()
	ref, err := app.Append(0, series("new"), 1000, 1)
	require.NoError(t, err)
	require.Greater(t, uint64(ref), uint64(dupRef), "ref of a series created after the replay")
	require.NoError(t, app.Commit())
}
