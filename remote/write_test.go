package remote

import (
	"encoding/binary"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// now is the fixed clock of the tests.
var now = time.UnixMilli(1_700_000_000_000)

func fixedOpts() WriteOptions { return WriteOptions{Now: func() time.Time { return now }} }

func TestWriteStoresRW1(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	req := series1(lbls("__name__", "up", "job", "a"), prompb.Sample{Timestamp: 1, Value: 2}, prompb.Sample{Timestamp: 2, Value: 3})
	req.Metadata = []prompb.MetricMetadata{{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "up", Help: "h", Unit: "u"}}
	w := post(h, encodeRW1(t, req))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, []model.Sample{{T: 1, V: 2}, {T: 2, V: 3}}, s.get(labels.FromStrings("__name__", "up", "job", "a")))
	require.Equal(t, model.Metadata{Type: "counter", Help: "h", Unit: "u"}, s.metadata["up"])
	require.Empty(t, w.Header().Get(headerSamplesWritten), "1.0 answers carry no written headers")

	// A retry of the same request is harmless.
	w = post(h, encodeRW1(t, req), "Content-Type", "")
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Len(t, s.get(labels.FromStrings("__name__", "up", "job", "a")), 2)
}

func TestWriteMethod(t *testing.T) {
	h := newHandler(t, newMemStore(), WriteOptions{})
	r := httptest.NewRequest(http.MethodGet, "/api/v1/write", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, http.MethodPost, w.Header().Get("Allow"))
}

func TestWriteUnsupportedMedia(t *testing.T) {
	h := newHandler(t, newMemStore(), WriteOptions{})
	body := encodeRW1(t, series1(lbls("__name__", "up"), prompb.Sample{Timestamp: 1}))
	for _, hdr := range [][]string{
		{"Content-Type", "application/json"},
		{"Content-Type", "application/x-protobuf;proto=foo.Bar"},
		{"Content-Type", "not a; media type;;"},
		{"Content-Encoding", "gzip"},
		{"Content-Encoding", "zstd"},
	} {
		w := post(h, body, hdr...)
		require.Equal(t, http.StatusUnsupportedMediaType, w.Code, "%v: %s", hdr, w.Body.String())
	}
}

func TestWriteBadBodies(t *testing.T) {
	h := newHandler(t, newMemStore(), WriteOptions{MaxCompressedBytes: 1 << 20})
	good, err := series1(lbls("__name__", "up"), prompb.Sample{Timestamp: 1}).Marshal()
	require.NoError(t, err)

	// A snappy header declaring 10 GB, followed by a few bytes.
	huge := binary.AppendUvarint(nil, 10<<30)
	huge = append(huge, 0, 1, 2, 3)

	for name, tc := range map[string]struct {
		body []byte
		code int
	}{
		"bad snappy":         {[]byte("definitely not snappy \xff\xff\xff"), http.StatusBadRequest},
		"truncated protobuf": {snappy.Encode(nil, good[:len(good)-3]), http.StatusBadRequest},
		"garbage protobuf":   {snappy.Encode(nil, []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}), http.StatusBadRequest},
		"10 GB declared":     {huge, http.StatusRequestEntityTooLarge},
		"compressed too big": {make([]byte, 2<<20), http.StatusRequestEntityTooLarge},
		"empty body":         {nil, http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			w := post(h, tc.body)
			require.Equal(t, tc.code, w.Code, w.Body.String())
		})
	}
}

func TestWriteSortsUnsortedLabels(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	w := post(h, encodeRW1(t, series1(lbls("zone", "z", "__name__", "up", "Alpha", "x", "job", "j"), prompb.Sample{Timestamp: 5, Value: 1})))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, []model.Sample{{T: 5, V: 1}}, s.get(labels.FromStrings("Alpha", "x", "__name__", "up", "job", "j", "zone", "z")))
}

func TestWriteInvalidSeries(t *testing.T) {
	long := strings.Repeat("n", limits.DefaultMaxLabelNameLength+1)
	many := []string{"__name__", "m"}
	for i := 0; i < limits.DefaultMaxLabelNamesPerSeries; i++ {
		many = append(many, "l"+string(rune('a'+i%26))+string(rune('a'+i/26)), "v")
	}
	for name, tc := range map[string]struct {
		ls   []prompb.Label
		want string
	}{
		"duplicate name":  {lbls("__name__", "up", "job", "a", "job", "b"), `duplicate label name "job"`},
		"dup unsorted":    {lbls("job", "a", "__name__", "up", "job", "b"), `duplicate label name "job"`},
		"empty metric":    {lbls("__name__", "", "job", "a"), "empty metric name"},
		"missing metric":  {lbls("job", "a"), "missing metric name"},
		"empty name":      {lbls("__name__", "up", "", "a"), "empty label name"},
		"too many labels": {lbls(many...), "more than the limit of 30"},
		"name too long":   {lbls("__name__", "up", long, "a"), "longer than the limit of 1024"},
		"value too long":  {lbls("__name__", "up", "a", strings.Repeat("v", 2049)), "longer than the limit of 2048"},
		"bad utf8 value":  {lbls("__name__", "up", "a", "\xff"), "not valid UTF-8"},
		"bad utf8 name":   {lbls("__name__", "up", "a\xff", "b"), "not valid UTF-8"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newMemStore()
			h := newHandler(t, s, fixedOpts())
			w := post(h, encodeRW1(t, series1(tc.ls, prompb.Sample{Timestamp: 1, Value: 1})))
			require.Equal(t, http.StatusBadRequest, w.Code)
			require.Contains(t, w.Body.String(), tc.want)
			require.Contains(t, w.Body.String(), "series {")
			require.Contains(t, w.Body.String(), "1 samples rejected in total")
			require.Zero(t, s.numSamples())
		})
	}
}

func TestWriteUTF8Names(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	w := post(h, encodeRW1(t, series1(lbls("__name__", "http.server.duration", "service.name", "checkout", "empty", ""), prompb.Sample{Timestamp: 1, Value: 1})))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Len(t, s.get(labels.FromStrings("__name__", "http.server.duration", "service.name", "checkout")), 1, "empty values are dropped")
}

func TestWriteSpecialValuesBitExact(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	odd := math.Float64frombits(0x7ff8000000000abc)
	w := post(h, encodeRW1(t, series1(lbls("__name__", "up"),
		prompb.Sample{Timestamp: 1, Value: math.NaN()},
		prompb.Sample{Timestamp: 2, Value: staleNaN},
		prompb.Sample{Timestamp: 3, Value: odd})))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	got := s.get(labels.FromStrings("__name__", "up"))
	require.Len(t, got, 3)
	require.Equal(t, math.Float64bits(math.NaN()), math.Float64bits(got[0].V))
	require.True(t, model.IsStaleNaN(got[1].V))
	require.Equal(t, uint64(0x7ff8000000000abc), math.Float64bits(got[2].V))
}

func TestWriteFutureAndPartial(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	future := now.Add(11 * time.Minute).UnixMilli()
	ok := now.Add(9 * time.Minute).UnixMilli()
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "a"), Samples: []prompb.Sample{{Timestamp: ok, Value: 1}, {Timestamp: future, Value: 2}}},
		{Labels: lbls("__name__", "b", "x", "1", "x", "2"), Samples: []prompb.Sample{{Timestamp: 1}, {Timestamp: 2}}},
		{Labels: lbls("__name__", "c"), Samples: []prompb.Sample{{Timestamp: 3, Value: 3}}},
	}}
	w := post(h, encodeRW1(t, req))
	require.Equal(t, http.StatusBadRequest, w.Code)
	body := w.Body.String()
	require.Contains(t, body, `series {__name__="a"}`, "the first bad series is named")
	require.Contains(t, body, "in the future")
	require.Contains(t, body, "3 samples rejected in total")
	require.Equal(t, []model.Sample{{T: ok, V: 1}}, s.get(labels.FromStrings("__name__", "a")))
	require.Equal(t, []model.Sample{{T: 3, V: 3}}, s.get(labels.FromStrings("__name__", "c")))
}

func TestWriteStoreErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		appendErr, commitErr error
		code                 int
		stored               int
	}{
		"out of window":   {appendErr: model.ErrOutOfWindow, code: http.StatusBadRequest, stored: 1},
		"duplicate":       {appendErr: model.ErrDuplicateSample, code: http.StatusBadRequest, stored: 1},
		"invalid labels":  {appendErr: model.ErrInvalidLabels, code: http.StatusBadRequest, stored: 1},
		"closed":          {appendErr: model.ErrClosed, code: http.StatusServiceUnavailable},
		"other":           {appendErr: errString, code: http.StatusInternalServerError},
		"commit closed":   {commitErr: model.ErrClosed, code: http.StatusServiceUnavailable},
		"WAL unavailable": {commitErr: errWrap(model.ErrUnavailable), code: http.StatusServiceUnavailable},
		"commit failed":   {commitErr: errString, code: http.StatusInternalServerError},
		// A cluster's commit: samples a replica refused, and a replica's
		// memory guard.
		"replica refused":      {commitErr: errWrap(model.ErrRejected), code: http.StatusBadRequest},
		"replica memory limit": {commitErr: errWrap(model.ErrMemoryLimit), code: http.StatusServiceUnavailable},
		"wrapped in call":      {appendErr: errWrap(model.ErrOutOfWindow), code: http.StatusBadRequest, stored: 1},
	} {
		t.Run(name, func(t *testing.T) {
			s := newMemStore()
			s.commitErr = tc.commitErr
			s.appendErr = func(lset labels.Labels, ts int64, _ float64) error {
				if ts == 2 {
					return tc.appendErr
				}
				return nil
			}
			h := newHandler(t, s, fixedOpts())
			w := post(h, encodeRW1(t, series1(lbls("__name__", "up"), prompb.Sample{Timestamp: 1}, prompb.Sample{Timestamp: 2})))
			require.Equal(t, tc.code, w.Code, w.Body.String())
			require.Equal(t, tc.stored, s.numSamples())
			if tc.code == http.StatusServiceUnavailable {
				require.Equal(t, "5", w.Header().Get("Retry-After"))
			}
			if tc.code == http.StatusBadRequest {
				want := tc.appendErr
				if want == nil {
					want = tc.commitErr
				}
				require.Contains(t, w.Body.String(), want.Error())
			}
		})
	}
}

// errWrap wraps err as a store would when adding context.
func errWrap(err error) error { return &wrapped{err} }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "append: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestWriteNativeHistograms(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	ih := &histogram.Histogram{
		Count: 5, Sum: 12, Schema: 1, ZeroThreshold: 0.001, ZeroCount: 1,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{1, 2},
	}
	fh := &histogram.FloatHistogram{
		Count: 3.5, Sum: 2, Schema: histogram.CustomBucketsSchema, CustomValues: []float64{1, 5},
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{1.5, 2},
	}
	req := series1(lbls("__name__", "lat"), prompb.Sample{Timestamp: 1, Value: 1})
	req.Timeseries[0].Histograms = []prompb.Histogram{prompb.FromIntHistogram(2, ih), prompb.FromFloatHistogram(3, fh)}
	w := post(h, encodeRW1(t, req))
	if w.Code != http.StatusNoContent {
		t.Fatalf("status: got %d (%s), want 204", w.Code, w.Body.String())
	}
	got := s.getHists(labels.FromStrings("__name__", "lat"))
	if len(got) != 2 || got[0].t != 2 || !got[0].h.Equals(ih) || got[1].t != 3 || !got[1].fh.Equals(fh) {
		t.Fatalf("stored histograms: got %+v, want %v at 2 and %v at 3", got, ih, fh)
	}
	if n := len(s.get(labels.FromStrings("__name__", "lat"))); n != 1 {
		t.Fatalf("float samples: got %d, want 1", n)
	}
}

func TestWriteInvalidHistogram(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	req := series1(lbls("__name__", "lat", "job", "a"))
	// Two buckets announced by the span, one sent.
	bad := &histogram.Histogram{Count: 1, PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []int64{1}}
	good := &histogram.Histogram{Count: 1, ZeroCount: 1}
	req.Timeseries[0].Histograms = []prompb.Histogram{prompb.FromIntHistogram(1, bad), prompb.FromIntHistogram(2, good)}
	w := post(h, encodeRW1(t, req))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status: got %d, want 400", w.Code)
	}
	for _, want := range []string{`{__name__="lat", job="a"}`, "histogram at 1", "1 samples rejected in total"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Fatalf("body %q does not name %q", w.Body.String(), want)
		}
	}
	if got := s.getHists(labels.FromStrings("__name__", "lat", "job", "a")); len(got) != 1 || got[0].t != 2 {
		t.Fatalf("stored: got %+v, want the valid histogram at 2 only", got)
	}
}

func TestWriteMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := fixedOpts()
	opts.Registerer = reg
	s := newMemStore()
	h := newHandler(t, s, opts)
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("__name__", "a"), Samples: []prompb.Sample{{Timestamp: 1}}},
		{Labels: lbls("__name__", ""), Samples: []prompb.Sample{{Timestamp: 1}}},
	}}
	require.Equal(t, http.StatusBadRequest, post(h, encodeRW1(t, req)).Code)
	require.InDelta(t, 1.0, testutil.ToFloat64(h.(*writeHandler).metrics.samplesIngested), 0)
	require.InDelta(t, 1.0, testutil.ToFloat64(h.(*writeHandler).metrics.samplesRejected.WithLabelValues(reasonInvalidLabels, limits.Anonymous)), 0)
	n, err := testutil.GatherAndCount(reg, "gorilla_remote_write_request_duration_seconds")
	require.NoError(t, err)
	require.Equal(t, 1, n)

	_, err = NewWriteHandler(s, opts)
	require.Error(t, err, "registering twice fails")
}

// TestWriteHistogramSchemas: every standard schema and custom buckets are
// stored; a schema finer than 8 is reduced to 8, as Prometheus does; an
// unknown one is refused naming the series.
func TestWriteHistogramSchemas(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	req := series1(lbls("__name__", "lat"))
	var ts int64
	for schema := int32(-4); schema <= 8; schema++ {
		ts++
		hh := &histogram.Histogram{Schema: schema, Count: 1, PositiveSpans: []histogram.Span{{Offset: 3, Length: 1}}, PositiveBuckets: []int64{1}}
		req.Timeseries[0].Histograms = append(req.Timeseries[0].Histograms, prompb.FromIntHistogram(ts, hh))
	}
	fine := &histogram.Histogram{Schema: 10, Count: 2, PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{1, 0}}
	req.Timeseries[0].Histograms = append(req.Timeseries[0].Histograms, prompb.FromIntHistogram(100, fine))
	unknown := &histogram.Histogram{Schema: 60, Count: 0}
	req.Timeseries[0].Histograms = append(req.Timeseries[0].Histograms, prompb.FromIntHistogram(101, unknown))
	w := post(h, encodeRW1(t, req))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "histogram at 101") || !strings.Contains(w.Body.String(), "1 samples rejected in total") {
		t.Fatalf("got %d %q, want 400 refusing the histogram at 101 only", w.Code, w.Body.String())
	}
	got := s.getHists(labels.FromStrings("__name__", "lat"))
	if len(got) != 14 {
		t.Fatalf("stored %d histograms, want 14", len(got))
	}
	if last := got[13]; last.t != 100 || last.h.Schema != 8 || last.h.Count != 2 {
		t.Fatalf("schema 10 histogram: got %+v, want schema 8 with count 2", last.h)
	}
}
