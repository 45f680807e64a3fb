package remote

import (
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestWriteRefusesTimestampsOutOfRange: a sample the store cannot hold is
// answered 400 naming its series and timestamp; the rest of the request is
// stored.
func TestWriteRefusesTimestampsOutOfRange(t *testing.T) {
	ok := now.UnixMilli()
	for _, bad := range []int64{math.MinInt64, -9223372036854000000, model.MinTime - 1} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			s := newMemStore()
			h := newHandler(t, s, fixedOpts())
			req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				{Labels: lbls("__name__", "good"), Samples: []prompb.Sample{{Timestamp: ok, Value: 1}}},
				{Labels: lbls("__name__", "up", "job", "x"), Samples: []prompb.Sample{{Timestamp: bad, Value: 2}, {Timestamp: ok, Value: 3}}},
			}}
			w := post(h, encodeRW1(t, req))
			require.Equal(t, http.StatusBadRequest, w.Code)
			body := w.Body.String()
			require.Contains(t, body, `series {__name__="up", job="x"}`)
			require.Contains(t, body, fmt.Sprint(bad))
			require.Contains(t, body, "1 samples rejected in total")
			require.Equal(t, []model.Sample{{T: ok, V: 1}}, s.get(labels.FromStrings("__name__", "good")))
			require.Equal(t, []model.Sample{{T: ok, V: 3}}, s.get(labels.FromStrings("__name__", "up", "job", "x")))
			rejected := h.(*writeHandler).metrics.samplesRejected.WithLabelValues(reasonTimestampOutOfRange, limits.Anonymous)
			require.InDelta(t, 1.0, testutil.ToFloat64(rejected), 0)
		})
	}
}

// TestWriteRefusesTimestampsOutOfRangeV2 is the same through remote write
// 2.0, whose created timestamps must not inject a zero out of range.
func TestWriteRefusesTimestampsOutOfRangeV2(t *testing.T) {
	opts := fixedOpts()
	opts.CreatedTimestampZeroIngestion = true
	s := newMemStore()
	h := newHandler(t, s, opts)
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "up"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2},
			Samples:    []writev2.Sample{{Timestamp: math.MinInt64, Value: 1}, {Timestamp: now.UnixMilli(), Value: 2}},
		}},
	}
	w := post(h, encodeRW2(t, req), v2Header...)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), `series {__name__="up"}`)
	require.Contains(t, w.Body.String(), "-9223372036854775808")
	require.Equal(t, []model.Sample{{T: now.UnixMilli(), V: 2}}, s.get(labels.FromStrings("__name__", "up")))
}

// TestWriteOutOfRangeIntoHead: through the real head, the other series of
// the request stay readable, and the store's own refusal is a 400 too.
func TestWriteOutOfRangeIntoHead(t *testing.T) {
	hd, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
	require.NoError(t, err)
	t.Cleanup(func() { _ = hd.Close() })
	h := newHandler(t, headStore{hd}, fixedOpts())
	ok := now.UnixMilli()
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "good"), Samples: []prompb.Sample{{Timestamp: ok, Value: 1}}},
		{Labels: lbls("__name__", "bad"), Samples: []prompb.Sample{{Timestamp: math.MinInt64, Value: 2}}},
	}}
	require.Equal(t, http.StatusBadRequest, post(h, encodeRW1(t, req)).Code)
	got, err := hd.Range(labels.FromStrings("__name__", "good"), math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Equal(t, []model.Sample{{T: ok, V: 1}}, got)
	require.Equal(t, ok, hd.MinTime())

	// A store that refuses by itself (an embedder's, or a check skipped):
	// its sentinel is a client error for that sample only.
	s := newMemStore()
	s.appendErr = func(_ labels.Labels, ts int64, _ float64) error {
		if ts < 0 {
			return fmt.Errorf("append: %w", model.ErrTimestampOutOfRange)
		}
		return nil
	}
	h = newHandler(t, s, fixedOpts())
	w := post(h, encodeRW1(t, series1(lbls("__name__", "up"), prompb.Sample{Timestamp: -ok}, prompb.Sample{Timestamp: ok})))
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), model.ErrTimestampOutOfRange.Error())
	require.Equal(t, 1, s.numSamples())
}
