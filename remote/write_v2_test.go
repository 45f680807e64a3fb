package remote

import (
	"encoding/binary"
	"net/http"
	"strings"
	"testing"

	"github.com/golang/snappy"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// ctField encodes created_timestamp (field 6) as an unknown field.
func ctField(ct int64) []byte {
	return binary.AppendUvarint([]byte{6 << 3}, uint64(ct))
}

func TestWriteRW2(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "req_total", "job", "a", "Requests.", "seconds", "trace_id", "abc", "other"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2, 3, 4},
			Samples:    []writev2.Sample{{Timestamp: 10, Value: 1}, {Timestamp: 20, Value: 2}},
			Exemplars:  []writev2.Exemplar{{LabelsRefs: []uint32{7, 8}, Value: 0.5, Timestamp: 15}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: 5, UnitRef: 6},
		}, {
			LabelsRefs: []uint32{1, 9},
			Samples:    []writev2.Sample{{Timestamp: 10, Value: 7}},
			Histograms: []writev2.Histogram{writev2.FromFloatHistogram(0, 10, &histogram.FloatHistogram{Count: 2, ZeroCount: 2})},
		}, {
			LabelsRefs: []uint32{1, 99}, // out of range
			Samples:    []writev2.Sample{{Timestamp: 10, Value: 7}},
		}},
	}
	w := post(h, encodeRW2(t, req), v2Header...)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "symbol reference out of range")
	require.Contains(t, w.Body.String(), "1 samples rejected in total")
	require.Equal(t, "3", w.Header().Get(headerSamplesWritten))
	require.Equal(t, "1", w.Header().Get(headerHistogramsWritten))
	require.Equal(t, "1", w.Header().Get(headerExemplarsWritten))

	s.mu.Lock()
	ms := s.series[labels.FromStrings("__name__", "req_total", "job", "a").Hash()]
	s.mu.Unlock()
	require.Equal(t, []model.Sample{{T: 10, V: 1}, {T: 20, V: 2}}, ms.samples)
	require.Equal(t, []model.Exemplar{{Labels: labels.FromStrings("trace_id", "abc"), T: 15, V: 0.5}}, ms.exemplars)
	require.Equal(t, model.Metadata{Type: "counter", Help: "Requests.", Unit: "seconds"}, s.metadata["req_total"])
	require.Len(t, s.get(labels.FromStrings("__name__", "other")), 1)

	// A fully good request answers 204 with the headers.
	req.Timeseries = req.Timeseries[:1]
	w = post(h, encodeRW2(t, req), v2Header...)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, "2", w.Header().Get(headerSamplesWritten))
}

func TestWriteRW2CreatedTimestamp(t *testing.T) {
	for _, zero := range []bool{false, true} {
		s := newMemStore()
		opts := fixedOpts()
		opts.CreatedTimestampZeroIngestion = zero
		h := newHandler(t, s, opts)
		req := &writev2.Request{
			Symbols: []string{"", "__name__", "a_total", "b_total"},
			Timeseries: []writev2.TimeSeries{{
				LabelsRefs:       []uint32{1, 2},
				Samples:          []writev2.Sample{{Timestamp: 100, Value: 5}, {Timestamp: 200, Value: 6}},
				XXX_unrecognized: ctField(50),
			}, {
				LabelsRefs: []uint32{1, 3},
				Samples:    []writev2.Sample{{Timestamp: 100, Value: 5, StartTimestamp: 70}},
			}},
		}
		w := post(h, encodeRW2(t, req), v2Header...)
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
		a := s.get(labels.FromStrings("__name__", "a_total"))
		b := s.get(labels.FromStrings("__name__", "b_total"))
		if !zero {
			require.Equal(t, []model.Sample{{T: 100, V: 5}, {T: 200, V: 6}}, a)
			require.Equal(t, []model.Sample{{T: 100, V: 5}}, b)
			continue
		}
		require.Equal(t, []model.Sample{{T: 50}, {T: 100, V: 5}, {T: 200, V: 6}}, a)
		require.Equal(t, []model.Sample{{T: 70}, {T: 100, V: 5}}, b)
		require.Equal(t, "3", w.Header().Get(headerSamplesWritten), "the injected zeros are not counted")
	}
}

func TestWriteRW2Garbage(t *testing.T) {
	h := newHandler(t, newMemStore(), fixedOpts())
	w := post(h, snappy.Encode(nil, []byte{0x22, 0x05, 0x61}), v2Header...)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Equal(t, "0", w.Header().Get(headerSamplesWritten))
}

// As Prometheus answers: a 2.0 series with metadata or exemplars but no
// sample is refused with 400 naming it, its exemplars not stored. The
// other series are stored.
func TestWriteRW2SeriesWithoutSamples(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "orphan", "", "trace_id", "abc", "ok"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE},
			Exemplars:  []writev2.Exemplar{{LabelsRefs: []uint32{4, 5}, Value: 1, Timestamp: 10}},
		}, {
			LabelsRefs: []uint32{1, 6},
			Samples:    []writev2.Sample{{Timestamp: 10, Value: 1}},
		}},
	}
	w := post(h, encodeRW2(t, req), v2Header...)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `series {__name__="orphan"}: series holds no sample or histogram`) {
		t.Fatalf("got %d %q, want 400 naming the series without samples", w.Code, w.Body)
	}
	if got := w.Header().Get(headerExemplarsWritten); got != "0" {
		t.Fatalf("exemplars written: got %s, want 0", got)
	}
	if got := w.Header().Get(headerSamplesWritten); got != "1" {
		t.Fatalf("samples written: got %s, want 1", got)
	}
	if got := s.get(labels.FromStrings("__name__", "ok")); len(got) != 1 {
		t.Fatalf("the valid series: got %v, want one sample", got)
	}
	// Remote write 1.0 keeps accepting exemplars of a series without samples.
	w = post(h, encodeRW1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:    lbls("__name__", "orphan"),
		Exemplars: []prompb.Exemplar{{Labels: lbls("trace_id", "abc"), Value: 1, Timestamp: 10}},
	}}}))
	if w.Code != http.StatusNoContent {
		t.Fatalf("1.0: got %d %q, want 204", w.Code, w.Body)
	}
}
