package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	metricsv1 "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
)

// queryVector runs an instant PromQL query and returns each series of the
// answer, rendered as {name="value", ...} in label order, with its value.
func queryVector(t *testing.T, d *testServer, q string, at time.Time, hdr ...string) map[string]string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, d.url+"/api/v1/query?"+url.Values{
		"query": {q}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)},
	}.Encode(), nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	a := do(t, d.client, req)
	require.Equal(t, http.StatusOK, a.code, a.body)
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &resp))
	out := map[string]string{}
	for _, r := range resp.Data.Result {
		names := make([]string, 0, len(r.Metric))
		for n := range r.Metric {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s=%q", n, r.Metric[n])
		}
		out["{"+strings.Join(parts, ", ")+"}"] = fmt.Sprint(r.Value[1])
	}
	return out
}

// TestOTLPWithTheOpenTelemetrySDK sends a counter, a gauge and a
// histogram with the OpenTelemetry Go SDK's OTLP/HTTP exporter (gzip, as
// collectors send) and reads back through PromQL the series and values
// that were sent.
func TestOTLPWithTheOpenTelemetrySDK(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()

	ctx := context.Background()
	exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL("http://"+s.ListenAddress+otlpPath),
		otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	require.NoError(t, err)
	reader := sdkmetric.NewManualReader()
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"),
		attribute.String("service.instance.id", "pod-1"), attribute.String("deployment.environment", "test"))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	meter := mp.Meter("shop")
	orders, err := meter.Int64Counter("orders", metric.WithUnit("{order}"), metric.WithDescription("Orders placed."))
	require.NoError(t, err)
	orders.Add(ctx, 3, metric.WithAttributes(attribute.String("payment.method", "card")))
	orders.Add(ctx, 4, metric.WithAttributes(attribute.String("payment.method", "card")))
	orders.Add(ctx, 1, metric.WithAttributes(attribute.String("payment.method", "cash")))
	temp, err := meter.Float64Gauge("room.temperature", metric.WithUnit("Cel"))
	require.NoError(t, err)
	temp.Record(ctx, 21.5)
	lat, err := meter.Float64Histogram("checkout.duration", metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(0.1, 1))
	require.NoError(t, err)
	for _, v := range []float64{0.05, 0.5, 0.7, 2} {
		lat.Record(ctx, v)
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	require.NoError(t, exp.Export(ctx, &rm))
	require.NoError(t, exp.Shutdown(ctx))
	require.NoError(t, mp.Shutdown(ctx))

	got := queryVector(t, d, `{job="checkout"}`, time.Now().Add(time.Second))
	base := `instance="pod-1", job="checkout"`
	require.Equal(t, map[string]string{
		`{__name__="orders_total", ` + base + `, payment_method="card"}`:         "7",
		`{__name__="orders_total", ` + base + `, payment_method="cash"}`:         "1",
		`{__name__="room_temperature_celsius", ` + base + `}`:                    "21.5",
		`{__name__="checkout_duration_seconds_bucket", ` + base + `, le="0.1"}`:  "1",
		`{__name__="checkout_duration_seconds_bucket", ` + base + `, le="1"}`:    "3",
		`{__name__="checkout_duration_seconds_bucket", ` + base + `, le="+Inf"}`: "4",
		`{__name__="checkout_duration_seconds_sum", ` + base + `}`:               "3.25",
		`{__name__="checkout_duration_seconds_count", ` + base + `}`:             "4",
		`{__name__="target_info", deployment_environment="test", ` + base + `}`:  "1",
	}, got)
	md := get(t, d, "/api/v1/metadata?metric=orders_total")
	require.Equal(t, http.StatusOK, md.code, md.body)
	require.Contains(t, md.body, `"type":"counter"`)
	require.Contains(t, md.body, `"help":"Orders placed."`)
}

// otlpGauge is an OTLP protobuf request of one gauge point.
func otlpGauge(t *testing.T, name string, at time.Time, v float64) []byte {
	t.Helper()
	req := &metricsv1.MetricsData{ResourceMetrics: []*metricsv1.ResourceMetrics{{
		Resource: &resourcev1.Resource{Attributes: []*commonv1.KeyValue{{Key: "service.name",
			Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: "svc"}}}}},
		ScopeMetrics: []*metricsv1.ScopeMetrics{{Metrics: []*metricsv1.Metric{{Name: name, Data: &metricsv1.Metric_Gauge{
			Gauge: &metricsv1.Gauge{DataPoints: []*metricsv1.NumberDataPoint{{
				TimeUnixNano: uint64(at.UnixNano()), Value: &metricsv1.NumberDataPoint_AsDouble{AsDouble: v},
			}}},
		}}}}},
	}}}
	b, err := proto.Marshal(req)
	require.NoError(t, err)
	return b
}

// postOTLPTo sends an OTLP protobuf body to d, with headers in pairs.
func postOTLPTo(t *testing.T, d *testServer, body []byte, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url+otlpPath, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, d.client, req)
}

// In cluster mode an OTLP write goes through the replicated write path:
// every replica holds the series.
func TestOTLPClusterReplicated(t *testing.T) {
	ds := startClusterOf(t, 3, 3)
	defer func() {
		for _, d := range ds {
			require.NoError(t, d.stop())
		}
	}()
	now := time.Now()
	a := postOTLPTo(t, ds[1], otlpGauge(t, "otlp.replicated", now, 5))
	require.Equal(t, http.StatusOK, a.code, a.body)
	for i, d := range ds {
		require.Eventually(t, func() bool { return len(internalReadSeries(t, d, "", "otlp_replicated", now.UnixMilli())) == 1 },
			10*time.Second, 20*time.Millisecond, "node-%d does not hold the series", i)
	}
}

// With tenancy, an OTLP write names its tenant in X-Scope-OrgID as remote
// write does, and lands in that tenant's storage only.
func TestOTLPTenancy(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	s.TenancyEnabled = true
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()
	now := time.Now()
	body := otlpGauge(t, "tenant.gauge", now, 3)
	require.Equal(t, http.StatusUnauthorized, postOTLPTo(t, d, body).code)
	a := postOTLPTo(t, d, body, "X-Scope-OrgID", "team-a")
	require.Equal(t, http.StatusOK, a.code, a.body)
	at := now.Add(time.Second)
	require.Equal(t, map[string]string{`{__name__="tenant_gauge", job="svc"}`: "3"},
		queryVector(t, d, "tenant_gauge", at, "X-Scope-OrgID", "team-a"))
	require.Empty(t, queryVector(t, d, "tenant_gauge", at, "X-Scope-OrgID", "team-b"))
}

// The OTLP settings come from the flags or the config file's otlp
// section; an unknown strategy is refused.
func TestOTLPSettings(t *testing.T) {
	s, err := parseSettingsErr(t, "", "--otlp.promote-resource-attributes=k8s.pod.name", "--otlp.promote-resource-attributes=cloud.region")
	require.NoError(t, err)
	require.Equal(t, []string{"k8s.pod.name", "cloud.region"}, s.OTLP.PromoteResourceAttributes)
	require.Equal(t, "UnderscoreEscapingWithSuffixes", s.OTLP.TranslationStrategy)
	s, err = parseSettingsErr(t, "otlp:\n  promote_resource_attributes: [k8s.pod.name, cloud.region]\n  translation_strategy: NoTranslation\n  keep_identifying_resource_attributes: true\n")
	require.NoError(t, err)
	require.Equal(t, []string{"k8s.pod.name", "cloud.region"}, s.OTLP.PromoteResourceAttributes)
	require.Equal(t, "NoTranslation", s.OTLP.TranslationStrategy)
	require.True(t, s.OTLP.KeepIdentifyingResourceAttributes)
	_, err = parseSettingsErr(t, "otlp:\n  translation_strategy: Bogus\n")
	require.Error(t, err)
}
