package remote

import (
	"net/http"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestWriteExistingSeriesHead writes to series the head holds already,
// the path that finds them by their label pairs: unsorted labels, labels
// with an empty value, exemplars, and a new series beside them with labels
// that are not valid UTF-8.
func TestWriteExistingSeriesHead(t *testing.T) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
	require.NoError(t, err)
	defer h.Close()
	wh := newHandler(t, headStore{h}, WriteOptions{})
	a := lbls("__name__", "up", "job", "a")
	unsorted := lbls("job", "b", "__name__", "up", "empty", "")
	body := func(ts int64, extra ...prompb.TimeSeries) []byte {
		req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			{Labels: a, Samples: []prompb.Sample{{Timestamp: ts, Value: float64(ts)}}},
			{Labels: unsorted, Samples: []prompb.Sample{{Timestamp: ts, Value: -float64(ts)}}},
		}}
		req.Timeseries = append(req.Timeseries, extra...)
		return encodeRW1(t, req)
	}
	for _, ts := range []int64{1000, 2000} { // creates, then finds
		w := post(wh, body(ts))
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	}
	ex := prompb.TimeSeries{
		Labels:    a,
		Samples:   []prompb.Sample{{Timestamp: 4000, Value: 4}},
		Exemplars: []prompb.Exemplar{{Labels: lbls("trace_id", "abc"), Timestamp: 4000, Value: 4}},
	}
	bad := prompb.TimeSeries{Labels: lbls("__name__", "up", "job", "\xff"), Samples: []prompb.Sample{{Timestamp: 3000, Value: 1}}}
	w := post(wh, body(3000, ex, bad))
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "not valid UTF-8")

	got, err := h.Range(labels.FromStrings("__name__", "up", "job", "a"), 0, 10_000)
	require.NoError(t, err)
	require.Equal(t, []model.Sample{{T: 1000, V: 1000}, {T: 2000, V: 2000}, {T: 3000, V: 3000}, {T: 4000, V: 4}}, got)
	got, err = h.Range(labels.FromStrings("__name__", "up", "job", "b"), 0, 10_000)
	require.NoError(t, err)
	require.Equal(t, []model.Sample{{T: 1000, V: -1000}, {T: 2000, V: -2000}, {T: 3000, V: -3000}}, got)
	exs, err := h.Exemplars(t.Context(), 0, 10_000)
	require.NoError(t, err)
	require.Len(t, exs, 1)
	require.Equal(t, "abc", exs[0].Exemplars[0].Labels.Get("trace_id"))
}
