package remote

import (
	"bytes"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/model"
)

func newOverrides(t *testing.T, l limits.Limits) *limits.Overrides {
	t.Helper()
	ov, err := limits.NewOverrides(l, "")
	require.NoError(t, err)
	return ov
}

// movingClock is a clock tests move by hand, safe for the handler's use.
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movingClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// nSamples is a one-series request with n samples from t0 on.
func nSamples(name string, t0 int64, n int) *prompb.WriteRequest {
	samples := make([]prompb.Sample, n)
	for i := range samples {
		samples[i] = prompb.Sample{Timestamp: t0 + int64(i), Value: float64(i)}
	}
	return series1(lbls("__name__", name), samples...)
}

func rejectedCount(h http.Handler, reason string) float64 {
	return testutil.ToFloat64(h.(*writeHandler).metrics.samplesRejected.WithLabelValues(reason, limits.Anonymous))
}

// TestWriteIngestionRateLimit: over the tenant's rate the whole request is
// refused with 429 and a Retry-After long enough for the bucket to refill,
// and nothing of it is stored.
func TestWriteIngestionRateLimit(t *testing.T) {
	clk := &movingClock{t: now}
	l := limits.Defaults()
	l.IngestionRate, l.IngestionBurst = 10, 20
	s := newMemStore()
	h := newHandler(t, s, WriteOptions{Now: clk.now, Limits: newOverrides(t, l)})

	ts := now.UnixMilli()
	require.Equal(t, http.StatusNoContent, post(h, encodeRW1(t, nSamples("a", ts, 20))).Code)
	w := post(h, encodeRW1(t, nSamples("b", ts, 15)))
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	require.Equal(t, "2", w.Header().Get("Retry-After"), "15 samples at 10/s from an empty bucket")
	require.Contains(t, w.Body.String(), "ingestion rate limit of 10 samples/s (burst 20) exceeded")
	require.Empty(t, s.get(labels.FromStrings("__name__", "b")), "nothing of a refused request is stored")
	require.InDelta(t, 15.0, rejectedCount(h, limits.ReasonRateLimited), 0)

	clk.add(1500 * time.Millisecond)
	require.Equal(t, http.StatusNoContent, post(h, encodeRW1(t, nSamples("b", ts, 15))).Code, "accepted once the bucket refilled")
	require.Len(t, s.get(labels.FromStrings("__name__", "b")), 15)
}

// TestWriteLabelLimitsFromOverrides: the label limits are the tenant's,
// 0 is no limit, and a reload applies to the next request.
func TestWriteLabelLimitsFromOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.yml")
	require.NoError(t, os.WriteFile(path, []byte("overrides:\n  anonymous:\n    max_label_names_per_series: 3\n    max_label_value_length: 0\n"), 0o600))
	ov, err := limits.NewOverrides(limits.Defaults(), path)
	require.NoError(t, err)
	s := newMemStore()
	h := newHandler(t, s, WriteOptions{Now: fixedOpts().Now, Limits: ov})
	sample := prompb.Sample{Timestamp: now.UnixMilli(), Value: 1}

	w := post(h, encodeRW1(t, series1(lbls("__name__", "up", "a", "1", "b", "2", "c", "3"), sample)))
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "4 labels, more than the limit of 3")
	long := strings.Repeat("v", 10_000)
	w = post(h, encodeRW1(t, series1(lbls("__name__", "up", "a", long), sample)))
	require.Equal(t, http.StatusNoContent, w.Code, "0 is no limit: %s", w.Body.String())

	require.NoError(t, os.WriteFile(path, []byte("defaults:\n  max_label_value_length: 100\n"), 0o600))
	require.NoError(t, ov.Reload())
	w = post(h, encodeRW1(t, series1(lbls("__name__", "up", "a", long), sample)))
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "longer than the limit of 100")
}

// limitedHead opens a head whose series are counted by a tracker over l,
// with guard (may be nil) as its memory guard.
func limitedHead(t *testing.T, l limits.Limits, guard *limits.MemoryGuard) (*head.Head, *limits.SeriesTracker) {
	t.Helper()
	tr := limits.NewSeriesTracker(newOverrides(t, l), guard)
	hd, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16, Limiter: tr.ForTenant(limits.Anonymous)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = hd.Close() })
	return hd, tr
}

func headSamples(t *testing.T, hd *head.Head, kv ...string) []model.Sample {
	t.Helper()
	got, err := hd.Range(labels.FromStrings(kv...), math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	return got
}

// TestWriteSeriesLimits: new series past a series limit are refused with
// 400 naming the limit; the series already held keep taking samples.
func TestWriteSeriesLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		l      limits.Limits
		reason string
		want   string
	}{
		"per tenant": {limits.Limits{MaxSeries: 2}, limits.ReasonSeriesLimit, "per-tenant series limit of 2 exceeded"},
		"per metric": {limits.Limits{MaxSeriesPerMetric: 2}, limits.ReasonSeriesPerMetricLimit, `per-metric series limit of 2 exceeded for metric "m"`},
	} {
		t.Run(name, func(t *testing.T) {
			hd, tr := limitedHead(t, tc.l, nil)
			h := newHandler(t, headStore{hd}, fixedOpts())
			ts := now.UnixMilli()
			req := func(t int64, insts ...string) *prompb.WriteRequest {
				r := &prompb.WriteRequest{}
				for _, i := range insts {
					r.Timeseries = append(r.Timeseries, prompb.TimeSeries{
						Labels: lbls("__name__", "m", "i", i), Samples: []prompb.Sample{{Timestamp: t, Value: 1}, {Timestamp: t + 1, Value: 2}}})
				}
				return r
			}
			w := post(h, encodeRW1(t, req(ts, "1", "2", "3")))
			require.Equal(t, http.StatusBadRequest, w.Code)
			require.Contains(t, w.Body.String(), `series {__name__="m", i="3"}: `+tc.want)
			require.Contains(t, w.Body.String(), "2 samples rejected in total")
			require.InDelta(t, 2.0, rejectedCount(h, tc.reason), 0)
			require.Equal(t, 2, tr.Series(limits.Anonymous))

			w = post(h, encodeRW1(t, req(ts+10, "1", "2")))
			require.Equal(t, http.StatusNoContent, w.Code, "existing series keep ingesting: %s", w.Body.String())
			require.Len(t, headSamples(t, hd, "__name__", "m", "i", "1"), 4)
			require.Empty(t, headSamples(t, hd, "__name__", "m", "i", "3"))
		})
	}
}

// TestWriteMemoryLimit: near the memory limit new series are refused with
// 503 and Retry-After, samples for existing series are stored, and once
// memory is freed the retried request is accepted whole.
func TestWriteMemoryLimit(t *testing.T) {
	var mu sync.Mutex
	heap := uint64(10)
	guard := limits.NewMemoryGuard(1000, limits.MemoryGuardOptions{
		Refresh:  time.Nanosecond,
		ReadHeap: func() uint64 { mu.Lock(); defer mu.Unlock(); return heap },
	})
	hd, _ := limitedHead(t, limits.Limits{}, guard)
	h := newHandler(t, headStore{hd}, fixedOpts())
	ts := now.UnixMilli()
	require.Equal(t, http.StatusNoContent, post(h, encodeRW1(t, nSamples("old", ts, 1))).Code)

	mu.Lock()
	heap = 1000
	mu.Unlock()
	spike := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "old"), Samples: []prompb.Sample{{Timestamp: ts + 1, Value: 7}}},
		{Labels: lbls("__name__", "new"), Samples: []prompb.Sample{{Timestamp: ts + 1, Value: 8}}},
	}}
	w := post(h, encodeRW1(t, spike))
	require.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
	require.Equal(t, "5", w.Header().Get("Retry-After"))
	require.Contains(t, w.Body.String(), "memory limit reached")
	require.Equal(t, []model.Sample{{T: ts, V: 0}, {T: ts + 1, V: 7}}, headSamples(t, hd, "__name__", "old"))
	require.Empty(t, headSamples(t, hd, "__name__", "new"))
	require.InDelta(t, 1.0, rejectedCount(h, limits.ReasonMemoryLimit), 0)

	mu.Lock()
	heap = 10
	mu.Unlock()
	require.Equal(t, http.StatusNoContent, post(h, encodeRW1(t, spike)).Code, "the retry passes, the stored sample again harmlessly")
	require.Equal(t, []model.Sample{{T: ts + 1, V: 8}}, headSamples(t, hd, "__name__", "new"))
}

// TestWriteRefusalsLoggedAtBoundedRate: refusals are logged at most once
// per reason and tenant per interval, with the tenant, the reason and an
// example series.
func TestWriteRefusalsLoggedAtBoundedRate(t *testing.T) {
	clk := &movingClock{t: now}
	var logs bytes.Buffer
	l := limits.Defaults()
	l.MaxLabelNamesPerSeries = 1
	s := newMemStore()
	h := newHandler(t, s, WriteOptions{Now: clk.now, Limits: newOverrides(t, l), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	bad := encodeRW1(t, series1(lbls("__name__", "up", "job", "a"), prompb.Sample{Timestamp: now.UnixMilli(), Value: 1}))
	for range 5 {
		require.Equal(t, http.StatusBadRequest, post(h, bad).Code)
	}
	require.Equal(t, 1, strings.Count(logs.String(), "remote write samples refused"), logs.String())
	line := logs.String()
	require.Contains(t, line, "tenant=anonymous")
	require.Contains(t, line, "reason=too_many_labels")
	require.Contains(t, line, `example_series="{__name__=\"up\", job=\"a\"}"`)

	clk.add(rejectLogInterval)
	require.Equal(t, http.StatusBadRequest, post(h, bad).Code)
	require.Equal(t, 2, strings.Count(logs.String(), "remote write samples refused"))
	require.InDelta(t, 6.0, rejectedCount(h, "too_many_labels"), 0, "every refusal is counted")
}
