package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// repoCapture is the slice of a real Prometheus's remote write kept in the
// repository (testdata/capture/README.md), relative to this package: the
// first 300 requests, with 2,200 series and 148,500 float samples.
const repoCapture = "../../testdata/capture/prometheus-2.42-node-300req.rw"

type recorded struct {
	t int64
	v float64
}

// recorder is a remote-write endpoint that decodes every request and keeps
// its samples per series. fail decides which requests get a 500.
type recorder struct {
	mu       sync.Mutex
	series   map[string][]recorded // guarded by mu
	lbls     map[string]labels.Labels
	maxReq   int
	requests int
	fail     func(n int64) bool
	n        atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{series: map[string][]recorded{}, lbls: map[string]labels.Labels{}}
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := rec.n.Add(1)
	if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
		r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" || r.Header.Get("User-Agent") != "gorilla-remote-bench" {
		http.Error(w, "bad headers", http.StatusUnsupportedMediaType)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if rec.fail != nil && rec.fail(n) {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests++
	samples := 0
	for _, ts := range req.Timeseries {
		b := labels.NewScratchBuilder(len(ts.Labels))
		for _, l := range ts.Labels {
			b.Add(l.Name, l.Value)
		}
		ls := b.Labels()
		k := ls.String()
		rec.lbls[k] = ls
		for _, s := range ts.Samples {
			rec.series[k] = append(rec.series[k], recorded{s.Timestamp, s.Value})
			samples++
		}
	}
	rec.maxReq = max(rec.maxReq, samples)
	w.WriteHeader(http.StatusNoContent)
}

func TestRunSynthetic(t *testing.T) {
	rec := newRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()

	var progressCalls atomic.Int64
	cfg := Config{
		URL: srv.URL, Series: 1000, Rounds: 5, SamplesPerRequest: 70, Senders: 3,
		Start:    time.UnixMilli(1_700_000_000_123),
		Progress: func(Progress) { progressCalls.Add(1) },
	}
	w, err := Prepare(cfg)
	require.NoError(t, err)
	require.Equal(t, 5, w.Rounds())
	require.Equal(t, 1000, w.Series())
	require.Equal(t, int64(5000), w.SamplesIn(0, 5))
	require.Equal(t, int64(2000), w.SamplesIn(1, 3))

	// Two slices of rounds, as a harness interleaving reads would do.
	res1, err := w.Run(context.Background(), 0, 2)
	require.NoError(t, err)
	res2, err := w.Run(context.Background(), 2, 5)
	require.NoError(t, err)
	require.Equal(t, int64(2000), res1.Samples)
	require.Equal(t, int64(3000), res2.Samples)
	require.Zero(t, res1.Failed+res2.Failed)
	require.Empty(t, res2.Errors)
	require.Equal(t, int64(rec.requests), res1.Requests+res2.Requests)
	require.LessOrEqual(t, rec.maxReq, 70)
	require.Positive(t, res2.Max)
	require.LessOrEqual(t, res2.P50, res2.P99)
	require.GreaterOrEqual(t, progressCalls.Load(), int64(2))

	require.Len(t, rec.series, 1000)
	for i := range 1000 {
		ls := w.Labels(i)
		require.Equal(t, 10, ls.Len(), "series %d: %s", i, ls)
		got := rec.series[ls.String()]
		require.Len(t, got, 5, "series %d: %s", i, ls)
		require.True(t, labels.Equal(ls, rec.lbls[ls.String()]))
		for r, s := range got {
			wt, wv := w.Sample(i, r)
			require.Equal(t, wt, s.t, "series %d round %d", i, r)
			require.Equal(t, wv, s.v, "series %d round %d", i, r)
			require.Equal(t, int64(1_700_000_000_123)+int64(r)*15_000, s.t)
		}
	}
}

func TestSyntheticKinds(t *testing.T) {
	w, err := Prepare(Config{URL: "http://unused", Series: 2 * seriesPerTarget, Rounds: 20, Senders: 1})
	require.NoError(t, err)
	names := map[string]bool{}
	for i := range w.Series() {
		names[w.Labels(i).Get(labels.MetricName)] = true
		_, slot := target(i)
		if slot >= firstGauge {
			continue
		}
		// Counters grow by integers.
		for r := 1; r < w.Rounds(); r++ {
			_, a := w.Sample(i, r-1)
			_, b := w.Sample(i, r)
			require.Greater(t, b, a)
			require.Equal(t, float64(int64(b)), b)
		}
	}
	require.Len(t, names, len(MetricNames))
	// Histogram buckets are cumulative in le and counters in time.
	first := firstBucket
	for r := range w.Rounds() {
		for j := 1; j < numBuckets; j++ {
			_, lo := w.Sample(first+j-1, r)
			_, hi := w.Sample(first+j, r)
			require.LessOrEqual(t, lo, hi)
			if r > 0 {
				_, prev := w.Sample(first+j, r-1)
				require.LessOrEqual(t, prev, hi)
			}
		}
	}
	require.Equal(t, "+Inf", w.Labels(first+numBuckets-1).Get("le"))
	require.Len(t, ExampleQueries(), 6)
}

func TestRunFailures(t *testing.T) {
	rec := newRecorder()
	rec.fail = func(n int64) bool { return n%3 == 0 }
	srv := httptest.NewServer(rec)
	defer srv.Close()

	w, err := Prepare(Config{URL: srv.URL, Series: 100, Rounds: 6, SamplesPerRequest: 50, Senders: 2})
	require.NoError(t, err)
	res, err := w.Run(context.Background(), 0, w.Rounds())
	require.NoError(t, err)
	require.Equal(t, int64(12), res.Requests)
	require.Equal(t, int64(4), res.Failed)
	require.Equal(t, int64(8*50), res.Samples)
	require.Equal(t, []string{"500 injected failure"}, res.Errors)
}

func TestRunRange(t *testing.T) {
	w, err := Prepare(Config{URL: "http://unused", Series: 10, Rounds: 2})
	require.NoError(t, err)
	_, err = w.Run(context.Background(), 1, 3)
	require.True(t, errors.Is(err, errRange), "got %v", err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := w.Run(ctx, 0, 2)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, res.Requests)
}

func TestReplayCapture(t *testing.T) {
	const requests, series, samples = 300, 2200, 148_500
	rec := newRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()

	w, err := PrepareCapture(repoCapture, Config{URL: srv.URL})
	require.NoError(t, err)
	require.Equal(t, requests, w.Rounds())
	require.Equal(t, series, w.Series())
	require.Equal(t, int64(samples), w.SamplesIn(0, w.Rounds()))

	res, err := w.Run(context.Background(), 0, w.Rounds())
	require.NoError(t, err)
	require.Zero(t, res.Failed)
	require.Equal(t, int64(requests), res.Requests)
	require.Equal(t, int64(samples), res.Samples)
	n := 0
	for _, s := range rec.series {
		n += len(s)
	}
	require.Equal(t, samples, n)
}

func BenchmarkPrepare(b *testing.B) {
	const series, rounds = 100_000, 6
	b.ReportAllocs()
	for b.Loop() {
		w, err := Prepare(Config{URL: "http://unused", Series: series, Rounds: rounds})
		require.NoError(b, err)
		var bytes int
		for _, s := range w.senders {
			for _, r := range s.reqs {
				bytes += len(r.body)
			}
		}
		b.ReportMetric(float64(bytes)/(series*rounds), "wire-bytes/sample")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*series*rounds), "ns/sample")
}

// TestFirstRound checks that a load prepared in two batches, the second
// starting at FirstRound, sends what one workload of all the rounds sends.
func TestFirstRound(t *testing.T) {
	start := time.UnixMilli(1_700_000_000_000)
	whole, err := Prepare(Config{URL: "http://unused", Series: 300, Rounds: 7, Start: start})
	require.NoError(t, err)
	rec := newRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	for _, b := range []struct{ first, rounds int }{{0, 3}, {3, 4}} {
		w, err := Prepare(Config{
			URL: srv.URL, Series: 300, Rounds: b.rounds, FirstRound: b.first,
			Start: start.Add(time.Duration(b.first) * DefaultInterval),
		})
		require.NoError(t, err)
		res, err := w.Run(context.Background(), 0, b.rounds)
		require.NoError(t, err)
		require.Zero(t, res.Failed)
	}
	for i := range 300 {
		got := rec.series[whole.Labels(i).String()]
		require.Len(t, got, 7, "series %d", i)
		for r, s := range got {
			wt, wv := whole.Sample(i, r)
			if s.t != wt || s.v != wv {
				t.Fatalf("series %d round %d: got (%d, %v), want (%d, %v)", i, r, s.t, s.v, wt, wv)
			}
		}
	}
}
