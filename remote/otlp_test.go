package remote

import (
	"bytes"
	"compress/gzip"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	metricsv1 "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// otlpT0 is the time of the test points: 2026-01-01T00:00:00Z.
const otlpT0 = 1767225600_000

func strAttr(k, v string) *commonv1.KeyValue {
	return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: v}}}
}

func intAttr(k string, v int64) *commonv1.KeyValue {
	return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_IntValue{IntValue: v}}}
}

// nanos is the OTLP timestamp of otlpT0+ms.
func nanos(ms int64) uint64 { return uint64(otlpT0+ms) * 1e6 }

func gaugePoint(ms int64, v float64, attrs ...*commonv1.KeyValue) *metricsv1.NumberDataPoint {
	return &metricsv1.NumberDataPoint{TimeUnixNano: nanos(ms), Attributes: attrs, Value: &metricsv1.NumberDataPoint_AsDouble{AsDouble: v}}
}

// otlpRequest wraps metrics in one resource of service shop/cart,
// instance i-1, with a region attribute.
func otlpRequest(ms ...*metricsv1.Metric) *metricsv1.MetricsData {
	return &metricsv1.MetricsData{ResourceMetrics: []*metricsv1.ResourceMetrics{{
		Resource: &resourcev1.Resource{Attributes: []*commonv1.KeyValue{
			strAttr("service.name", "cart"), strAttr("service.namespace", "shop"),
			strAttr("service.instance.id", "i-1"), strAttr("cloud.region", "eu-west-1"),
		}},
		ScopeMetrics: []*metricsv1.ScopeMetrics{{Metrics: ms}},
	}}}
}

// everyType is one metric of each kind the store holds as floats.
func everyType() *metricsv1.MetricsData {
	sum := 1.5
	return otlpRequest(
		&metricsv1.Metric{Name: "queue.depth", Data: &metricsv1.Metric_Gauge{Gauge: &metricsv1.Gauge{DataPoints: []*metricsv1.NumberDataPoint{
			gaugePoint(0, 7, strAttr("queue.name", "q1")),
			{TimeUnixNano: nanos(1000), Attributes: []*commonv1.KeyValue{strAttr("queue.name", "q1")}, Value: &metricsv1.NumberDataPoint_AsInt{AsInt: 9}},
		}}}},
		&metricsv1.Metric{Name: "http.sent", Unit: "By", Description: "Bytes sent.", Data: &metricsv1.Metric_Sum{Sum: &metricsv1.Sum{
			IsMonotonic: true, AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
			DataPoints: []*metricsv1.NumberDataPoint{{
				TimeUnixNano: nanos(0), Value: &metricsv1.NumberDataPoint_AsInt{AsInt: 100},
				Exemplars: []*metricsv1.Exemplar{{TimeUnixNano: nanos(0), Value: &metricsv1.Exemplar_AsDouble{AsDouble: 10},
					TraceId: []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10},
					SpanId:  []byte{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8}}},
			}},
		}}},
		&metricsv1.Metric{Name: "workers", Data: &metricsv1.Metric_Sum{Sum: &metricsv1.Sum{
			AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
			DataPoints:             []*metricsv1.NumberDataPoint{gaugePoint(0, -2)},
		}}},
		&metricsv1.Metric{Name: "rpc.duration", Unit: "s", Data: &metricsv1.Metric_Histogram{Histogram: &metricsv1.Histogram{
			AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
			DataPoints: []*metricsv1.HistogramDataPoint{{
				TimeUnixNano: nanos(0), Count: 6, Sum: &sum, ExplicitBounds: []float64{0.1, 1}, BucketCounts: []uint64{1, 2, 3},
			}},
		}}},
		&metricsv1.Metric{Name: "gc.pause", Unit: "ms", Data: &metricsv1.Metric_Summary{Summary: &metricsv1.Summary{
			DataPoints: []*metricsv1.SummaryDataPoint{{
				TimeUnixNano: nanos(0), Count: 4, Sum: 20,
				QuantileValues: []*metricsv1.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 4}, {Quantile: 0.99, Value: 9}},
			}},
		}}},
	)
}

// postOTLP sends an OTLP body to h.
func postOTLP(h http.Handler, body []byte, contentType, encoding string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/otlp/v1/metrics", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	if encoding != "" {
		r.Header.Set("Content-Encoding", encoding)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// newOTLPHandler builds an OTLP handler over s.
func newOTLPHandler(t testing.TB, s Appendable, opts OTLPOptions) http.Handler {
	t.Helper()
	w, err := NewWriteHandler(s, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewOTLPHandler(w, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func marshalOTLP(t testing.TB, req *metricsv1.MetricsData) []byte {
	t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantEveryType are the series everyType becomes, with the defaults.
var wantEveryType = map[string][]model.Sample{
	`{__name__="queue_depth", instance="i-1", job="shop/cart", queue_name="q1"}`:           {{T: otlpT0, V: 7}, {T: otlpT0 + 1000, V: 9}},
	`{__name__="http_sent_bytes_total", instance="i-1", job="shop/cart"}`:                  {{T: otlpT0, V: 100}},
	`{__name__="workers", instance="i-1", job="shop/cart"}`:                                {{T: otlpT0, V: -2}},
	`{__name__="rpc_duration_seconds_bucket", instance="i-1", job="shop/cart", le="0.1"}`:  {{T: otlpT0, V: 1}},
	`{__name__="rpc_duration_seconds_bucket", instance="i-1", job="shop/cart", le="1"}`:    {{T: otlpT0, V: 3}},
	`{__name__="rpc_duration_seconds_bucket", instance="i-1", job="shop/cart", le="+Inf"}`: {{T: otlpT0, V: 6}},
	`{__name__="rpc_duration_seconds_sum", instance="i-1", job="shop/cart"}`:               {{T: otlpT0, V: 1.5}},
	`{__name__="rpc_duration_seconds_count", instance="i-1", job="shop/cart"}`:             {{T: otlpT0, V: 6}},
	`{__name__="gc_pause_milliseconds", instance="i-1", job="shop/cart", quantile="0.5"}`:  {{T: otlpT0, V: 4}},
	`{__name__="gc_pause_milliseconds", instance="i-1", job="shop/cart", quantile="0.99"}`: {{T: otlpT0, V: 9}},
	`{__name__="gc_pause_milliseconds_sum", instance="i-1", job="shop/cart"}`:              {{T: otlpT0, V: 20}},
	`{__name__="gc_pause_milliseconds_count", instance="i-1", job="shop/cart"}`:            {{T: otlpT0, V: 4}},
	`{__name__="target_info", cloud_region="eu-west-1", instance="i-1", job="shop/cart"}`:  {{T: otlpT0, V: 1}, {T: otlpT0 + 1000, V: 1}},
}

// stored renders every series of s with its samples.
func stored(s *memStore) map[string][]model.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]model.Sample{}
	for _, ms := range s.series {
		out[ms.lset.String()] = slices.Clone(ms.samples)
	}
	return out
}

// checkSeries fails unless s holds exactly want.
func checkSeries(t *testing.T, s *memStore, want map[string][]model.Sample) {
	t.Helper()
	got := stored(s)
	for k, w := range want {
		if g, ok := got[k]; !ok || !slices.Equal(g, w) {
			t.Errorf("series %s: got %v, want %v", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s: %v", k, g)
		}
	}
}

// Every OTLP encoding the endpoint accepts stores the same series.
func TestOTLPEncodings(t *testing.T) {
	pb := marshalOTLP(t, everyType())
	js, err := protojson.Marshal(everyType())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ct, enc string
		body          []byte
	}{
		{"protobuf", "application/x-protobuf", "", pb},
		{"protobuf gzip", "application/x-protobuf", "gzip", gzipBytes(t, pb)},
		{"json", "application/json", "", js},
		{"json gzip", "application/json; charset=utf-8", "gzip", gzipBytes(t, js)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			w := postOTLP(newOTLPHandler(t, s, OTLPOptions{}), tc.body, tc.ct, tc.enc)
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d (%s), want 200", w.Code, w.Body)
			}
			checkSeries(t, s, wantEveryType)
		})
	}
}

// The exemplar of a sum keeps its trace and span ids in hexadecimal, also
// when sent as OTLP/JSON (hexadecimal ids, not base64); metadata carries
// the type, help and translated unit.
func TestOTLPExemplarsAndMetadata(t *testing.T) {
	js := `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},
	"scopeMetrics":[{"metrics":[{"name":"http.sent","unit":"By","description":"Bytes sent.","sum":{"isMonotonic":true,"aggregationTemporality":2,
	"dataPoints":[{"timeUnixNano":"1767225600000000000","asInt":"100","exemplars":[{"timeUnixNano":"1767225600000000000","asDouble":10,
	"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"a1a2a3a4a5a6a7a8"}]}]}}]}]}]}`
	for _, tc := range []struct {
		name, ct string
		body     []byte
	}{
		{"protobuf", "application/x-protobuf", marshalOTLP(t, everyType())},
		{"json", "application/json", []byte(js)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			if w := postOTLP(newOTLPHandler(t, s, OTLPOptions{}), tc.body, tc.ct, ""); w.Code != http.StatusOK {
				t.Fatalf("status: got %d (%s), want 200", w.Code, w.Body)
			}
			var ex []model.Exemplar
			for _, ms := range s.series {
				if ms.lset.Get("__name__") == "http_sent_bytes_total" {
					ex = ms.exemplars
				}
			}
			want := labels.FromStrings("span_id", "a1a2a3a4a5a6a7a8", "trace_id", "0102030405060708090a0b0c0d0e0f10")
			if len(ex) != 1 || !labels.Equal(ex[0].Labels, want) || ex[0].V != 10 || ex[0].T != otlpT0 {
				t.Fatalf("exemplars: got %v, want one of value 10 at %d with %v", ex, otlpT0, want)
			}
			got := s.metadata["http_sent_bytes_total"]
			if wantMD := (model.Metadata{Type: "counter", Help: "Bytes sent.", Unit: "bytes"}); got != wantMD {
				t.Fatalf("metadata: got %+v, want %+v", got, wantMD)
			}
		})
	}
}

// The exemplars of a histogram go to the bucket their value falls in.
func TestOTLPHistogramExemplars(t *testing.T) {
	req := otlpRequest(&metricsv1.Metric{Name: "lat", Data: &metricsv1.Metric_Histogram{Histogram: &metricsv1.Histogram{
		AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
		DataPoints: []*metricsv1.HistogramDataPoint{{
			TimeUnixNano: nanos(0), Count: 3, ExplicitBounds: []float64{1}, BucketCounts: []uint64{1, 2},
			Exemplars: []*metricsv1.Exemplar{
				{TimeUnixNano: nanos(0), Value: &metricsv1.Exemplar_AsDouble{AsDouble: 0.5}},
				{TimeUnixNano: nanos(0), Value: &metricsv1.Exemplar_AsDouble{AsDouble: 5}},
			},
		}},
	}}})
	s := newMemStore()
	if w := postOTLP(newOTLPHandler(t, s, OTLPOptions{}), marshalOTLP(t, req), "application/x-protobuf", ""); w.Code != http.StatusOK {
		t.Fatalf("status: got %d (%s), want 200", w.Code, w.Body)
	}
	got := map[string][]float64{}
	for _, ms := range s.series {
		for _, e := range ms.exemplars {
			got[ms.lset.Get("le")] = append(got[ms.lset.Get("le")], e.V)
		}
	}
	if len(got) != 2 || !slices.Equal(got["1"], []float64{0.5}) || !slices.Equal(got["+Inf"], []float64{5}) {
		t.Fatalf("exemplars by bucket: got %v, want le=1: [0.5], le=+Inf: [5]", got)
	}
}

// The translation strategies name series as Prometheus 3 does.
func TestOTLPTranslationStrategies(t *testing.T) {
	req := otlpRequest(&metricsv1.Metric{Name: "http.server.duration", Unit: "s", Data: &metricsv1.Metric_Sum{Sum: &metricsv1.Sum{
		IsMonotonic: true, AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
		DataPoints: []*metricsv1.NumberDataPoint{gaugePoint(0, 1, strAttr("http.method", "GET"))},
	}}})
	for strategy, want := range map[string]string{
		"":                                  `{__name__="http_server_duration_seconds_total", http_method="GET", instance="i-1", job="shop/cart"}`,
		"UnderscoreEscapingWithSuffixes":    `{__name__="http_server_duration_seconds_total", http_method="GET", instance="i-1", job="shop/cart"}`,
		"UnderscoreEscapingWithoutSuffixes": `{__name__="http_server_duration", http_method="GET", instance="i-1", job="shop/cart"}`,
		"NoUTF8EscapingWithSuffixes":        `{__name__="http.server.duration_seconds_total", "http.method"="GET", instance="i-1", job="shop/cart"}`,
		"NoTranslation":                     `{__name__="http.server.duration", "http.method"="GET", instance="i-1", job="shop/cart"}`,
	} {
		s := newMemStore()
		if w := postOTLP(newOTLPHandler(t, s, OTLPOptions{TranslationStrategy: strategy}), marshalOTLP(t, req), "application/x-protobuf", ""); w.Code != http.StatusOK {
			t.Fatalf("%s: status %d (%s), want 200", strategy, w.Code, w.Body)
		}
		got := stored(s)
		if _, ok := got[want]; !ok {
			t.Errorf("strategy %q: got series %v, want %s", strategy, slices.Collect(mapKeys(got)), want)
		}
	}
	if _, err := NewOTLPHandler(mustWrite(t), OTLPOptions{TranslationStrategy: "Bogus"}); err == nil {
		t.Fatalf("unknown strategy: got no error")
	}
}

func mustWrite(t *testing.T) Handler {
	w, err := NewWriteHandler(newMemStore(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Promoted resource attributes label every series of the resource and
// leave target_info; a point attribute of the same name wins; two
// attributes translating to one name join their values.
func TestOTLPPromoteResourceAttributes(t *testing.T) {
	req := otlpRequest(&metricsv1.Metric{Name: "up", Data: &metricsv1.Metric_Gauge{Gauge: &metricsv1.Gauge{DataPoints: []*metricsv1.NumberDataPoint{
		gaugePoint(0, 1),
		gaugePoint(1000, 1, strAttr("cloud.region", "local"), strAttr("a.b", "1"), strAttr("a_b", "2")),
	}}}})
	s := newMemStore()
	h := newOTLPHandler(t, s, OTLPOptions{PromoteResourceAttributes: []string{"cloud.region", "service.name"}})
	if w := postOTLP(h, marshalOTLP(t, req), "application/x-protobuf", ""); w.Code != http.StatusOK {
		t.Fatalf("status: got %d (%s), want 200", w.Code, w.Body)
	}
	checkSeries(t, s, map[string][]model.Sample{
		`{__name__="up", cloud_region="eu-west-1", instance="i-1", job="shop/cart", service_name="cart"}`:        {{T: otlpT0, V: 1}},
		`{__name__="up", a_b="1;2", cloud_region="local", instance="i-1", job="shop/cart", service_name="cart"}`: {{T: otlpT0 + 1000, V: 1}},
	})
	// With the identifying attributes kept, target_info has them.
	s = newMemStore()
	h = newOTLPHandler(t, s, OTLPOptions{KeepIdentifyingResourceAttributes: true})
	if w := postOTLP(h, marshalOTLP(t, req), "application/x-protobuf", ""); w.Code != http.StatusOK {
		t.Fatalf("status: got %d (%s), want 200", w.Code, w.Body)
	}
	want := `{__name__="target_info", cloud_region="eu-west-1", instance="i-1", job="shop/cart", service_instance_id="i-1", service_name="cart", service_namespace="shop"}`
	if _, ok := stored(s)[want]; !ok {
		t.Fatalf("got series %v, want %s", slices.Collect(mapKeys(stored(s))), want)
	}
}

// A point flagged as having no recorded value becomes a staleness marker.
func TestOTLPNoRecordedValue(t *testing.T) {
	p := gaugePoint(0, 3)
	p.Flags = uint32(metricsv1.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK)
	req := otlpRequest(&metricsv1.Metric{Name: "g", Data: &metricsv1.Metric_Gauge{Gauge: &metricsv1.Gauge{DataPoints: []*metricsv1.NumberDataPoint{p}}}})
	s := newMemStore()
	if w := postOTLP(newOTLPHandler(t, s, OTLPOptions{}), marshalOTLP(t, req), "application/x-protobuf", ""); w.Code != http.StatusOK {
		t.Fatalf("status: got %d (%s), want 200", w.Code, w.Body)
	}
	got := s.get(labels.FromStrings("__name__", "g", "instance", "i-1", "job", "shop/cart"))
	if len(got) != 1 || math.Float64bits(got[0].V) != model.StaleNaN {
		t.Fatalf("got %v, want one staleness marker", got)
	}
}

// Points the store cannot hold are refused with 400 naming a series; the
// other points of the request are stored.
func TestOTLPRefusedPoints(t *testing.T) {
	delta := &metricsv1.Metric{Name: "reqs", Data: &metricsv1.Metric_Sum{Sum: &metricsv1.Sum{
		IsMonotonic: true, AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
		DataPoints: []*metricsv1.NumberDataPoint{gaugePoint(0, 1)},
	}}}
	expo := &metricsv1.Metric{Name: "lat", Data: &metricsv1.Metric_ExponentialHistogram{ExponentialHistogram: &metricsv1.ExponentialHistogram{
		AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
		DataPoints:             []*metricsv1.ExponentialHistogramDataPoint{{TimeUnixNano: nanos(0), Count: 1, Scale: 2}},
	}}}
	emptyAttr := &metricsv1.Metric{Name: "bad", Data: &metricsv1.Metric_Gauge{Gauge: &metricsv1.Gauge{DataPoints: []*metricsv1.NumberDataPoint{
		gaugePoint(0, 1, strAttr("", "x")),
	}}}}
	good := &metricsv1.Metric{Name: "ok", Data: &metricsv1.Metric_Gauge{Gauge: &metricsv1.Gauge{DataPoints: []*metricsv1.NumberDataPoint{gaugePoint(0, 1)}}}}
	for _, tc := range []struct {
		name string
		m    *metricsv1.Metric
		want string
	}{
		{"delta sum", delta, `reqs_total`},
		{"broken exponential histogram", expo, `observation count should equal`},
		{"empty attribute name", emptyAttr, `empty name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			w := postOTLP(newOTLPHandler(t, s, OTLPOptions{}), marshalOTLP(t, otlpRequest(tc.m, good)), "application/x-protobuf", "")
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("got %d %q, want 400 mentioning %q", w.Code, w.Body, tc.want)
			}
			if got := s.get(labels.FromStrings("__name__", "ok", "instance", "i-1", "job", "shop/cart")); len(got) != 1 {
				t.Fatalf("the valid point: got %v, want it stored", got)
			}
		})
	}
}

// An exponential histogram point is stored as one native histogram sample
// of its series, its buckets as OTLP gave them.
func TestOTLPExponentialStored(t *testing.T) {
	expo := &metricsv1.Metric{Name: "lat", Data: &metricsv1.Metric_ExponentialHistogram{ExponentialHistogram: &metricsv1.ExponentialHistogram{
		AggregationTemporality: metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
		DataPoints: []*metricsv1.ExponentialHistogramDataPoint{{
			TimeUnixNano: nanos(0), Count: 4, Sum: proto.Float64(9), Scale: 0, ZeroCount: 1,
			Positive: &metricsv1.ExponentialHistogramDataPoint_Buckets{Offset: 0, BucketCounts: []uint64{1, 2}},
		}},
	}}}
	s := newMemStore()
	w := postOTLP(newOTLPHandler(t, s, OTLPOptions{}), marshalOTLP(t, otlpRequest(expo)), "application/x-protobuf", "")
	if w.Code != http.StatusOK {
		t.Fatalf("got %d %q, want 200", w.Code, w.Body)
	}
	got := s.getHists(labels.FromStrings("__name__", "lat", "instance", "i-1", "job", "shop/cart"))
	if len(got) != 1 || got[0].h == nil {
		t.Fatalf("got %+v, want one integer native histogram", got)
	}
	if h := got[0].h; h.Count != 4 || h.Sum != 9 || h.ZeroCount != 1 || h.Schema != 0 {
		t.Fatalf("got count %d, sum %v, zero count %d, schema %d; want 4, 9, 1, 0", h.Count, h.Sum, h.ZeroCount, h.Schema)
	}
}

// Requests OTLP/HTTP does not define are refused before anything is stored.
func TestOTLPBadRequests(t *testing.T) {
	pb := marshalOTLP(t, everyType())
	big := gzipBytes(t, make([]byte, 2<<20))
	for _, tc := range []struct {
		name, ct, enc string
		body          []byte
		want          int
	}{
		{"snappy", "application/x-protobuf", "snappy", pb, http.StatusUnsupportedMediaType},
		{"text", "text/plain", "", pb, http.StatusUnsupportedMediaType},
		{"no content type", "", "", pb, http.StatusUnsupportedMediaType},
		{"garbage protobuf", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff}, http.StatusBadRequest},
		{"garbage json", "application/json", "", []byte(`{"resourceMetrics": 3}`), http.StatusBadRequest},
		{"bad gzip", "application/x-protobuf", "gzip", pb, http.StatusBadRequest},
		{"gzip over the limit", "application/x-protobuf", "gzip", big, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			w, err := NewWriteHandler(s, WriteOptions{MaxDecodedBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			h, err := NewOTLPHandler(w, OTLPOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := postOTLP(h, tc.body, tc.ct, tc.enc); got.Code != tc.want {
				t.Fatalf("got %d (%s), want %d", got.Code, got.Body, tc.want)
			}
			if n := s.numSamples(); n != 0 {
				t.Fatalf("stored %d samples, want none", n)
			}
		})
	}
}
