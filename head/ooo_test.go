package head

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// reencoded returns how many samples the head re-encoded so far to merge
// out-of-order samples into chunks.
func reencoded(h *Head) int {
	return int(testutil.ToFloat64(h.metrics.oooReencoded))
}

// oooRef is the expected content of series: the first value appended at a
// timestamp wins, later different values are duplicates.
type oooRef map[int64]float64

func (r oooRef) add(t int64, v float64) {
	if _, ok := r[t]; !ok {
		r[t] = v
	}
}

func (r oooRef) sorted() []model.Sample {
	out := make([]model.Sample, 0, len(r))
	for t, v := range r {
		out = append(out, model.Sample{T: t, V: v})
	}
	sortSamples(out)
	return out
}

// appendChecked appends one sample and checks Append's answer against the
// reference: only a sample conflicting with one committed earlier may fail,
// and it must fail with model.ErrDuplicateSample.
func appendChecked(t *testing.T, app *Appender, lset labels.Labels, committed oooRef, ts int64, v float64) {
	t.Helper()
	_, err := app.Append(0, lset, ts, v)
	old, stored := committed[ts]
	switch {
	case err == nil:
		if stored && !model.SameValue(old, v) {
			t.Fatalf("append (%d, %v): accepted over the stored value %v", ts, v, old)
		}
	case errors.Is(err, model.ErrDuplicateSample):
		if !stored || model.SameValue(old, v) {
			t.Fatalf("append (%d, %v): %v, but nothing different is stored there", ts, v, err)
		}
	default:
		t.Fatalf("append (%d, %v): %v", ts, v, err)
	}
}

// requireChunkInvariants checks the chunks of the series with lset: sorted,
// non-overlapping, each inside one block window and at most
// chunkenc.MaxSamples long, only the newest one open.
func requireChunkInvariants(t *testing.T, h *Head, lset labels.Labels) {
	t.Helper()
	s := h.series.getByHash(model.Hash(lset), lset, h.syms)
	require.NotNil(t, s)
	s.mu.Lock()
	defer s.mu.Unlock()
	win := h.Windows()
	for i, c := range s.chunks {
		got := decodeChunks([]*memChunk{c})
		require.NotEmpty(t, got, "chunk %d", i)
		for k := 1; k < len(got); k++ {
			if got[k].T <= got[k-1].T {
				t.Fatalf("chunk %d: sample %d at %d after %d", i, k, got[k].T, got[k-1].T)
			}
		}
		require.LessOrEqual(t, len(got), chunkenc.MaxSamples, "chunk %d", i)
		require.Equal(t, c.mint, got[0].T, "chunk %d mint", i)
		require.Equal(t, c.maxt, got[len(got)-1].T, "chunk %d maxt", i)
		require.Equal(t, c.window, win.Of(c.mint), "chunk %d window", i)
		require.Equal(t, c.window, win.Of(c.maxt), "chunk %d crosses a window boundary", i)
		if i > 0 {
			require.Greater(t, c.mint, s.chunks[i-1].maxt, "chunk %d overlaps the one before", i)
		}
		if i < len(s.chunks)-1 {
			require.Nil(t, c.app, "chunk %d of %d is open", i, len(s.chunks))
		}
	}
	require.NotNil(t, s.chunks[len(s.chunks)-1].app, "the newest chunk stays open")
	require.Equal(t, s.chunks[len(s.chunks)-1].maxt, s.maxT)
}

// TestOutOfOrderBatchesReadBackSorted appends series in descending,
// shuffled and duplicate-laden orders, in one batch and across batches, and
// reads them back equal to a sorted reference, in memory, after a WAL
// replay and after a checkpoint. The samples straddle a block-window
// boundary and, for the larger sizes, fill more than one chunk per window.
func TestOutOfOrderBatchesReadBackSorted(t *testing.T) {
	// The boundary between windows 0 and 1 of the default 2h blocks.
	boundary := DefaultBlockDuration.Milliseconds()
	type order func(n int, rng *rand.Rand) []int64
	descending := func(n int, _ *rand.Rand) []int64 {
		ts := make([]int64, n)
		for i := range ts {
			ts[i] = boundary + int64(n/2-1-i)
		}
		return ts
	}
	shuffled := func(n int, rng *rand.Rand) []int64 {
		ts := descending(n, rng)
		rng.Shuffle(n, func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		return ts
	}
	orders := map[string]order{"descending": descending, "shuffled": shuffled}
	sizes := []int{1, 2, 31, 32, 33, 1000, 2*chunkenc.MaxSamples + 1001}
	if testing.Short() {
		sizes = sizes[:len(sizes)-1]
	}
	for name, ord := range orders {
		for _, n := range sizes {
			for _, batches := range []int{1, 7} {
				t.Run(fmt.Sprintf("%s/n=%d/batches=%d", name, n, batches), func(t *testing.T) {
					testOutOfOrderOrder(t, ord(n, rand.New(rand.NewPCG(uint64(n), uint64(batches)))), batches)
				})
			}
		}
	}
}

// testOutOfOrderOrder appends the timestamps ts to two series, interleaved,
// in the given number of batches. Every sample of the first series is
// followed by an exact retry, every tenth by a conflicting duplicate, and
// every hundredth is a stale marker. Each batch after the first starts with
// a retry of the sample before it and a conflicting duplicate of it.
func testOutOfOrderOrder(t *testing.T, ts []int64, batches int) {
	h := openTest(t, nil)
	a, b := series("a"), series("b")
	refA, refB := oooRef{}, oooRef{}
	committedA, committedB := oooRef{}, oooRef{}
	value := func(i int, ts int64) float64 {
		if i%100 == 99 {
			return math.Float64frombits(model.StaleNaN)
		}
		return float64(ts) / 4
	}
	per := (len(ts) + batches - 1) / batches
	for lo := 0; lo < len(ts); lo += per {
		app := h.Appender()
		if lo > 0 {
			// A retry of the last sample of the batch before, and a
			// conflicting one.
			appendChecked(t, app, a, committedA, ts[lo-1], value(lo-1, ts[lo-1]))
			appendChecked(t, app, a, committedA, ts[lo-1], 1e9)
		}
		for i := lo; i < min(lo+per, len(ts)); i++ {
			v := value(i, ts[i])
			appendChecked(t, app, a, committedA, ts[i], v)
			refA.add(ts[i], v)
			appendChecked(t, app, a, committedA, ts[i], v)
			if i%10 == 9 {
				// A plain NaN is a different value, from a stale marker too.
				appendChecked(t, app, a, committedA, ts[i], math.NaN())
			}
			appendChecked(t, app, b, committedB, ts[i], -v)
			refB.add(ts[i], -v)
		}
		require.NoError(t, app.Commit())
		for k, v := range refA {
			committedA[k] = v
		}
		for k, v := range refB {
			committedB[k] = v
		}
	}
	check := func(h *Head, when string) {
		t.Helper()
		requireSamples(t, refA.sorted(), mustRange(t, h, a))
		requireSamples(t, refB.sorted(), mustRange(t, h, b))
		requireChunkInvariants(t, h, a)
		requireChunkInvariants(t, h, b)
		info, ok := h.Info(a)
		require.True(t, ok, when)
		require.Equal(t, len(refA), info.Samples, when)
	}
	check(h, "in memory")
	h = reopen(t, h)
	check(h, "after WAL replay")
	require.NoError(t, h.Checkpoint(context.Background()))
	check(reopen(t, h), "after checkpoint")
}

// TestOutOfOrderBatchMergesOnce commits one batch of n out-of-order samples
// into a window already holding w samples and counts the samples re-encoded
// to merge them: each window is merged once, so the count is linear in n.
func TestOutOfOrderBatchMergesOnce(t *testing.T) {
	const n, w = 5000, 1000
	h := openTest(t, func(o *Options) { o.OutOfOrderWindow = time.Hour })
	lset := series("x")
	app := h.Appender()
	// In order: every tenth millisecond.
	for i := range w {
		_, err := app.Append(0, lset, int64(10*i), 1)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	before := reencoded(h)
	// Out of order, descending, between the stored samples.
	for i, ts := 0, int64(10*(w-1)); i < n; ts-- {
		if ts%10 == 0 {
			continue
		}
		_, err := app.Append(0, lset, ts, 2)
		require.NoError(t, err)
		i++
	}
	require.NoError(t, app.Commit())
	got := reencoded(h) - before
	if limit := 2*n + w; got > limit {
		t.Fatalf("re-encoded %d samples to merge %d out-of-order samples into a window of %d; want at most %d", got, n, w, limit)
	}
	want := w + n
	if info, _ := h.Info(lset); info.Samples != want {
		t.Fatalf("series holds %d samples, want %d", info.Samples, want)
	}

	// Replaying the WAL merges the batch once as well.
	h2 := reopen(t, h)
	if got, limit := reencoded(h2), 2*n+w; got > limit {
		t.Fatalf("replay re-encoded %d samples to merge %d out-of-order samples into a window of %d; want at most %d", got, n, w, limit)
	}
	if info, _ := h2.Info(lset); info.Samples != want {
		t.Fatalf("replayed series holds %d samples, want %d", info.Samples, want)
	}
}

// TestRetriedOutOfOrderBatchDecodesChunksOnce retries a committed batch of
// descending samples: every sample's duplicate check looks into the same
// chunk, which is decoded at most twice for the whole batch, not once per
// sample.
func TestRetriedOutOfOrderBatchDecodesChunksOnce(t *testing.T) {
	const n = 5000
	h := openTest(t, nil)
	lset := series("x")
	// Every hundredth sample is followed by a conflicting one: Append
	// accepts it in the first batch (which does not store it; the sample
	// before it wins) and refuses it in the retry.
	batch := func(retry bool) *Appender {
		app := h.Appender()
		for i := n - 1; i >= 0; i-- {
			v := float64(i)
			_, err := app.Append(0, lset, int64(i), v)
			require.NoError(t, err, "sample %d", i)
			if i%100 == 1 {
				_, err := app.Append(0, lset, int64(i), -v)
				if retry {
					require.ErrorIs(t, err, model.ErrDuplicateSample, "sample %d", i)
				} else {
					require.NoError(t, err, "sample %d", i)
				}
			}
		}
		return app
	}
	app := batch(false)
	require.NoError(t, app.Commit())
	info, _ := h.Info(lset)
	require.Equal(t, n, info.Samples)
	app = batch(true)
	if got, limit := app.ooo.cache.scans, 2*info.Chunks; got > limit {
		t.Fatalf("decoded chunks %d times to check %d retried samples in %d chunks; want at most %d", got, n, info.Chunks, limit)
	}
	require.NoError(t, app.Commit())
	info2, _ := h.Info(lset)
	require.Equal(t, info, info2, "a retry stores nothing")
}
