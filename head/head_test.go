package head

import (
	"context"
	"errors"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestMain(m *testing.M) {
	if os.Getenv(killChildEnv) != "" {
		runKillChild()
		return
	}
	goleak.VerifyTestMain(m)
}

// openTest opens a head in a fresh directory with the background loop off.
func openTest(t testing.TB, mod func(*Options)) *Head {
	t.Helper()
	o := Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 64}
	if mod != nil {
		mod(&o)
	}
	h, err := Open(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func reopen(t testing.TB, h *Head) *Head {
	t.Helper()
	require.NoError(t, h.Close())
	h2, err := Open(h.opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h2.Close() })
	return h2
}

func series(name string, kv ...string) labels.Labels {
	return labels.FromStrings(append([]string{"__name__", name}, kv...)...)
}

func mustRange(t testing.TB, h *Head, lset labels.Labels) []model.Sample {
	t.Helper()
	got, err := h.Range(lset, math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	return got
}

// requireSamples compares samples bit for bit, so NaNs compare equal.
func requireSamples(t testing.TB, want, got []model.Sample) {
	t.Helper()
	require.Equal(t, len(want), len(got), "sample count")
	for i := range want {
		if want[i].T != got[i].T || !model.SameValue(want[i].V, got[i].V) {
			t.Fatalf("sample %d: got (%d, %x), want (%d, %x)", i, got[i].T, math.Float64bits(got[i].V),
				want[i].T, math.Float64bits(want[i].V))
		}
	}
}

func TestAppendAndRange(t *testing.T) {
	h := openTest(t, nil)
	lset := series("up", "job", "node")
	values := []float64{1, -0.0, math.Inf(1), math.Inf(-1), math.Float64frombits(model.StaleNaN),
		math.NaN(), math.SmallestNonzeroFloat64, math.MaxFloat64, 2.25}
	var want []model.Sample
	app := h.Appender()
	var ref model.SeriesRef
	for i, v := range values {
		var err error
		ref, err = app.Append(ref, lset, int64(i)*15000, v)
		require.NoError(t, err)
		want = append(want, model.Sample{T: int64(i) * 15000, V: v})
	}
	require.NoError(t, app.Commit())
	requireSamples(t, want, mustRange(t, h, lset))

	latest, ok := h.Latest(lset)
	require.True(t, ok)
	require.Equal(t, want[len(want)-1], latest)

	info, ok := h.Info(lset)
	require.True(t, ok)
	require.Equal(t, len(values), info.Samples)
	require.Equal(t, int64(0), info.MinTime)
	require.Equal(t, int64(len(values)-1)*15000, info.MaxTime)

	requireSamples(t, want, mustRange(t, reopen(t, h), lset))
}

func TestSelectMatchers(t *testing.T) {
	h := openTest(t, nil)
	all := []labels.Labels{
		series("up", "job", "node", "instance", "a"),
		series("up", "job", "node", "instance", "b"),
		series("up", "job", "prom", "instance", "a"),
		series("rate", "job", "node"),
	}
	app := h.Appender()
	for i, l := range all {
		_, err := app.Append(0, l, 1000, float64(i))
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())

	m := func(mt labels.MatchType, n, v string) *labels.Matcher { return labels.MustNewMatcher(mt, n, v) }
	cases := []struct {
		name string
		ms   []*labels.Matcher
		want []int
	}{
		{"equal", []*labels.Matcher{m(labels.MatchEqual, "__name__", "up")}, []int{0, 1, 2}},
		{"equal and", []*labels.Matcher{m(labels.MatchEqual, "__name__", "up"), m(labels.MatchEqual, "job", "node")}, []int{0, 1}},
		{"not equal", []*labels.Matcher{m(labels.MatchEqual, "__name__", "up"), m(labels.MatchNotEqual, "instance", "a")}, []int{1}},
		{"regex name", []*labels.Matcher{m(labels.MatchRegexp, "__name__", "u.|ra.e")}, []int{0, 1, 2, 3}},
		{"not regex", []*labels.Matcher{m(labels.MatchNotRegexp, "job", "no.*")}, []int{2}},
		{"missing label matches empty", []*labels.Matcher{m(labels.MatchEqual, "instance", "")}, []int{3}},
		{"not equal empty", []*labels.Matcher{m(labels.MatchNotEqual, "instance", "")}, []int{0, 1, 2}},
		{"no match", []*labels.Matcher{m(labels.MatchEqual, "job", "none")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := h.Select(context.Background(), 0, 2000, c.ms...)
			require.NoError(t, err)
			var gotIdx []int
			for _, s := range got {
				for i, l := range all {
					if labels.Equal(l, s.Labels) {
						gotIdx = append(gotIdx, i)
					}
				}
			}
			require.ElementsMatch(t, c.want, gotIdx)
			for i := 1; i < len(got); i++ {
				require.Negative(t, labels.Compare(got[i-1].Labels, got[i].Labels), "sorted by labels")
			}
		})
	}
	require.Equal(t, []string{"__name__", "instance", "job"}, h.LabelNames())
	require.Equal(t, []string{"node", "prom"}, h.LabelValues("job"))

	got, err := h.Select(context.Background(), 2000, 3000, m(labels.MatchEqual, "__name__", "up"))
	require.NoError(t, err)
	require.Empty(t, got, "no series has samples in the range")
}

func TestDuplicatesAndOutOfOrder(t *testing.T) {
	h := openTest(t, func(o *Options) { o.OutOfOrderWindow = 10 * time.Second })
	lset := series("x")
	require.NoError(t, h.Append(lset, 20_000, 2))
	require.NoError(t, h.Append(lset, 20_000, 2), "an exact retry is accepted")
	require.ErrorIs(t, h.Append(lset, 20_000, 3), model.ErrDuplicateSample)
	require.NoError(t, h.Append(lset, 15_000, 1.5), "inside the out-of-order window")
	require.NoError(t, h.Append(lset, 15_000, 1.5), "retry of an out-of-order sample")
	require.ErrorIs(t, h.Append(lset, 15_000, 9), model.ErrDuplicateSample)
	require.ErrorIs(t, h.Append(lset, 9_999, 1), model.ErrOutOfWindow)
	require.NoError(t, h.Append(lset, 30_000, 3))
	require.NoError(t, h.Append(lset, 25_000, 2.5))
	want := []model.Sample{{T: 15_000, V: 1.5}, {T: 20_000, V: 2}, {T: 25_000, V: 2.5}, {T: 30_000, V: 3}}
	requireSamples(t, want, mustRange(t, h, lset))
	requireSamples(t, want, mustRange(t, reopen(t, h), lset))
}

func TestOutOfOrderMergesIntoChunks(t *testing.T) {
	h := openTest(t, func(o *Options) { o.BlockDuration = time.Minute })
	lset := series("x")
	var want []model.Sample
	// Even seconds in order, then odd seconds out of order: more than
	// oooCompactAt of them, across two windows, so the buffer is merged.
	for ts := int64(0); ts < 100_000; ts += 2000 {
		require.NoError(t, h.Append(lset, ts, float64(ts)))
	}
	for ts := int64(98_999); ts > 0; ts -= 2000 {
		require.NoError(t, h.Append(lset, ts, float64(ts)))
	}
	for ts := int64(0); ts < 100_000; ts += 2000 {
		want = append(want, model.Sample{T: ts, V: float64(ts)})
	}
	for ts := int64(98_999); ts > 0; ts -= 2000 {
		want = append(want, model.Sample{T: ts, V: float64(ts)})
	}
	sortSamples(want)
	requireSamples(t, want, mustRange(t, h, lset))
	info, _ := h.Info(lset)
	require.Equal(t, len(want), info.Samples)
	require.Equal(t, 2, info.Chunks, "one chunk per one-minute window")

	// New in-order samples still append after the merge.
	require.NoError(t, h.Append(lset, 100_000, 1))
	want = append(want, model.Sample{T: 100_000, V: 1})
	requireSamples(t, want, mustRange(t, h, lset))

	ss, err := h.Select(context.Background(), 0, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	require.NoError(t, err)
	require.Len(t, ss, 1)
	var fromChunks []model.Sample
	cs, err := ss[0].Chunks()
	require.NoError(t, err)
	for _, c := range cs {
		fromChunks = append(fromChunks, decodeChunkMeta(t, c)...)
	}
	requireSamples(t, want, fromChunks)
	requireSamples(t, want, mustRange(t, reopen(t, h), lset))
}

func TestChunksCutAtWindowBoundaries(t *testing.T) {
	h := openTest(t, func(o *Options) { o.BlockDuration = 10 * time.Second })
	lset := series("x")
	for ts := int64(-20_000); ts < 40_000; ts += 1000 {
		require.NoError(t, h.Append(lset, ts, 1))
	}
	ss, err := h.Select(context.Background(), math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	cs, err := ss[0].Chunks()
	require.NoError(t, err)
	require.Len(t, cs, 6)
	for i, c := range cs {
		require.Equal(t, int64(-20_000+10_000*i), c.MinT)
		require.Equal(t, c.MinT+9000, c.MaxT)
		require.Len(t, decodeChunkMeta(t, c), 10)
	}
}

func TestTruncateReleasesDataAndSeries(t *testing.T) {
	h := openTest(t, func(o *Options) { o.BlockDuration = 10 * time.Second })
	old, live := series("old"), series("live")
	for ts := int64(0); ts < 30_000; ts += 1000 {
		require.NoError(t, h.Append(old, ts, 1))
	}
	for ts := int64(0); ts < 60_000; ts += 1000 {
		require.NoError(t, h.Append(live, ts, 2))
	}
	h.Truncate(40_000)
	require.Len(t, mustRange(t, h, live), 20)
	_, ok := h.Info(old)
	require.False(t, ok, "a series silent for a whole window is dropped")
	require.Equal(t, []string{"live"}, h.LabelValues("__name__"))
	require.ErrorIs(t, h.Append(live, 39_000, 1), model.ErrOutOfWindow)
	require.NoError(t, h.Append(old, 61_000, 1), "a dropped series comes back")
	require.Len(t, mustRange(t, h, old), 1)

	require.NoError(t, h.Checkpoint(context.Background()))
	h2 := reopen(t, h)
	require.Len(t, mustRange(t, h2, live), 20)
	require.Len(t, mustRange(t, h2, old), 1)
}

func TestCheckpointAndReplay(t *testing.T) {
	h := openTest(t, func(o *Options) { o.BlockDuration = 10 * time.Second })
	var want []model.Sample
	lset := series("x", "job", "a")
	app := h.Appender()
	for ts := int64(0); ts < 25_000; ts += 500 {
		_, err := app.Append(0, lset, ts, float64(ts)/7)
		require.NoError(t, err)
		want = append(want, model.Sample{T: ts, V: float64(ts) / 7})
	}
	require.NoError(t, app.UpdateMetadata("x", model.Metadata{Type: "gauge", Help: "an x"}))
	_, err := app.AppendExemplar(0, lset, model.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), T: 1000, V: 1})
	require.NoError(t, err)
	require.NoError(t, app.Commit())
	require.NoError(t, h.Append(lset, 24_700, 5)) // out of order, stays in the buffer
	want = append(want, model.Sample{T: 24_700, V: 5})
	sortSamples(want)

	require.NoError(t, h.Checkpoint(context.Background()))
	for ts := int64(25_000); ts < 30_000; ts += 500 {
		require.NoError(t, h.Append(lset, ts, 1))
		want = append(want, model.Sample{T: ts, V: 1})
	}
	h2 := reopen(t, h)
	requireSamples(t, want, mustRange(t, h2, lset))
	require.Equal(t, model.Metadata{Type: "gauge", Help: "an x"}, h2.Metadata()["x"])
	ex, err := h2.Exemplars(context.Background(), 0, 2000)
	require.NoError(t, err)
	require.Len(t, ex, 1)
	require.True(t, labels.Equal(lset, ex[0].Labels), "exemplar series labels %s", ex[0].Labels)

	// Appends after a replay from a checkpoint continue the open chunk.
	require.NoError(t, h2.Append(lset, 30_000, 2))
	want = append(want, model.Sample{T: 30_000, V: 2})
	requireSamples(t, want, mustRange(t, h2, lset))
	require.NoError(t, h2.Checkpoint(context.Background()))
	requireSamples(t, want, mustRange(t, reopen(t, h2), lset))
}

func TestConcurrentAppendOverlappingSeries(t *testing.T) {
	h := openTest(t, nil)
	const workers, seriesN, perWorker = 8, 50, 120
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				app := h.Appender()
				for s := range seriesN {
					// Every worker writes every series; worker w owns the
					// timestamps ≡ w (mod workers).
					ts := int64(i*workers + w)
					_, err := app.Append(0, series("c", "s", string(rune('a'+s%26)), "n", string(rune('a'+s/26))), ts, float64(ts))
					if err != nil && !errors.Is(err, model.ErrOutOfWindow) {
						t.Error(err)
						return
					}
				}
				if err := app.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Readers run beside the writers.
	done := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			ss, err := h.Select(context.Background(), math.MinInt64, math.MaxInt64)
			if err != nil {
				t.Error(err)
				return
			}
			for _, s := range ss {
				it := s.Iterator(nil)
				prev := int64(math.MinInt64)
				for it.Next() {
					ts, _ := it.At()
					if ts <= prev {
						t.Errorf("series %s: timestamps not increasing: %d after %d", s.Labels, ts, prev)
						return
					}
					prev = ts
				}
			}
		}
	}()
	wg.Wait()
	close(done)
	rwg.Wait()
	st := h.Stats()
	require.Equal(t, seriesN, st.Series)
	require.Equal(t, workers*perWorker*seriesN, st.Samples, "every sample stored once")
	h2 := reopen(t, h)
	require.Equal(t, st.Samples, h2.Stats().Samples)
}

// TestCheckpointKeepsSeriesWithoutData covers a series whose first sample
// was refused: its series record is logged, and a checkpoint taken before
// its next sample must keep it, or replay would not know the ref.
func TestCheckpointKeepsSeriesWithoutData(t *testing.T) {
	h := openTest(t, func(o *Options) { o.OutOfOrderWindow = time.Second })
	require.NoError(t, h.Append(series("other"), 100_000, 1))
	h.Truncate(50_000)
	lset := series("late")
	app := h.Appender()
	_, err := app.Append(0, lset, 10_000, 1)
	require.ErrorIs(t, err, model.ErrOutOfWindow)
	require.NoError(t, app.Commit()) // logs the series it created
	require.NoError(t, h.Checkpoint(context.Background()))
	require.NoError(t, h.Append(lset, 100_000, 2))
	requireSamples(t, []model.Sample{{T: 100_000, V: 2}}, mustRange(t, reopen(t, h), lset))
}

// TestSeriesOfRolledBackBatchIsLogged: a series created by a batch that was
// rolled back is logged by the next batch that uses it, even on the same
// appender, so its samples survive a restart.
func TestSeriesOfRolledBackBatchIsLogged(t *testing.T) {
	h := openTest(t, nil)
	lset := labels.FromStrings("__name__", "x")
	app := h.Appender()
	_, err := app.Append(0, lset, 1000, 1)
	require.NoError(t, err)
	require.NoError(t, app.Rollback())
	_, err = app.Append(0, lset, 2000, 2)
	require.NoError(t, err)
	require.NoError(t, app.Commit())
	requireSamples(t, []model.Sample{{T: 2000, V: 2}}, mustRange(t, reopen(t, h), lset))
}
