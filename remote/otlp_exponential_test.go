package remote

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	metricsv1 "go.opentelemetry.io/proto/otlp/metrics/v1"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// nativeBucket is a bucket of a native histogram: its bounds and count.
type nativeBucket struct {
	lower, upper float64
	count        uint64
}

// nonEmpty lists the buckets with observations, from an iterator.
func nonEmpty(it histogram.BucketIterator[uint64]) []nativeBucket {
	var out []nativeBucket
	for it.Next() {
		if b := it.At(); b.Count > 0 {
			out = append(out, nativeBucket{b.Lower, b.Upper, b.Count})
		}
	}
	return out
}

func sameBuckets(got, want []nativeBucket) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].count != want[i].count || math.Abs(got[i].lower-want[i].lower) > 1e-12 || math.Abs(got[i].upper-want[i].upper) > 1e-12 {
			return false
		}
	}
	return true
}

// An OTLP exponential histogram becomes a valid native histogram whose
// buckets hold the same observations between the same bounds.
func TestExponentialToNative(t *testing.T) {
	sum := 10.0
	p := &metricsv1.ExponentialHistogramDataPoint{
		Scale: 1, Count: 7, Sum: &sum, ZeroCount: 1, ZeroThreshold: 1e-9,
		Positive: &metricsv1.ExponentialHistogramDataPoint_Buckets{Offset: -2, BucketCounts: []uint64{1, 0, 3}},
		Negative: &metricsv1.ExponentialHistogramDataPoint_Buckets{Offset: 0, BucketCounts: []uint64{2}},
	}
	h, err := exponentialToNative(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("invalid native histogram %v: %v", h, err)
	}
	if h.Schema != 1 || h.Count != 7 || h.Sum != 10 || h.ZeroCount != 1 || h.ZeroThreshold != 1e-9 {
		t.Fatalf("got %v, want schema 1, count 7, sum 10, zero count 1 under 1e-9", h)
	}
	r2 := math.Sqrt2
	if got, want := nonEmpty(h.PositiveBucketIterator()), []nativeBucket{{0.5, 1 / r2, 1}, {1, r2, 3}}; !sameBuckets(got, want) {
		t.Fatalf("positive buckets: got %v, want %v", got, want)
	}
	if got, want := nonEmpty(h.NegativeBucketIterator()), []nativeBucket{{-r2, -1, 2}}; !sameBuckets(got, want) {
		t.Fatalf("negative buckets: got %v, want %v", got, want)
	}
}

// A scale finer than 8 is merged down to 8; a negative index merges with
// the right neighbours; a scale coarser than -4 is refused.
func TestExponentialToNativeScales(t *testing.T) {
	p := &metricsv1.ExponentialHistogramDataPoint{
		Scale: 10, Count: 10,
		Positive: &metricsv1.ExponentialHistogramDataPoint_Buckets{Offset: -2, BucketCounts: []uint64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
	}
	h, err := exponentialToNative(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("invalid native histogram %v: %v", h, err)
	}
	// OTLP buckets -2..7 at scale 10 are, in fours from index 0, native
	// buckets 0 (two of them), 1 (four) and 2 (four) at schema 8.
	if h.Schema != 8 {
		t.Fatalf("schema: got %d, want 8", h.Schema)
	}
	b := math.Pow(2, 1.0/256)
	want := []nativeBucket{{1 / b, 1, 2}, {1, b, 4}, {b, b * b, 4}}
	if got := nonEmpty(h.PositiveBucketIterator()); !sameBuckets(got, want) {
		t.Fatalf("buckets: got %v, want %v", got, want)
	}
	p.Scale = -5
	if _, err := exponentialToNative(p); err == nil {
		t.Fatalf("scale -5: got no error")
	}
	p.Scale = 0
	p.Positive.Offset = math.MaxInt32 - 3
	if _, err := exponentialToNative(p); err == nil {
		t.Fatalf("bucket indexes past int32: got no error")
	}
	p.Positive.Offset = 0
	p.Flags = uint32(metricsv1.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK)
	if h, err := exponentialToNative(p); err != nil || math.Float64bits(h.Sum) != model.StaleNaN {
		t.Fatalf("no recorded value: got %v, %v, want a staleness marker", h, err)
	}
}
