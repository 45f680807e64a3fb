package remote

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	metricsv1 "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// The schemas of standard native histograms: each power of two holds
// 2^schema buckets.
const (
	minNativeSchema = -4
	maxNativeSchema = 8
)

// exponentialToNative converts an OTLP exponential histogram point into
// an integer native histogram of the same buckets. The OTLP scale is the
// native schema; a scale finer than 8 is merged down to 8, 2^(scale-8)
// buckets into one, as Prometheus does. OTLP bucket i holds
// (base^i, base^(i+1)] where the native bucket i holds (base^(i-1),
// base^i], so indexes move up by one. A point without a recorded value
// becomes a staleness marker. It fails for a scale coarser than -4,
// which no native schema can hold, and for bucket indexes out of range.
func exponentialToNative(p *metricsv1.ExponentialHistogramDataPoint) (*histogram.Histogram, error) {
	scale := p.GetScale()
	if scale < minNativeSchema {
		return nil, fmt.Errorf("exponential histogram scale %d is coarser than the coarsest native schema, %d", scale, minNativeSchema)
	}
	var shift int32
	if scale > maxNativeSchema {
		shift, scale = scale-maxNativeSchema, maxNativeSchema
	}
	h := &histogram.Histogram{
		Schema:        scale,
		ZeroThreshold: p.GetZeroThreshold(),
		ZeroCount:     p.GetZeroCount(),
		Count:         p.GetCount(),
		Sum:           p.GetSum(),
	}
	var err error
	if h.PositiveSpans, h.PositiveBuckets, err = nativeBuckets(p.GetPositive(), shift); err != nil {
		return nil, fmt.Errorf("positive buckets: %w", err)
	}
	if h.NegativeSpans, h.NegativeBuckets, err = nativeBuckets(p.GetNegative(), shift); err != nil {
		return nil, fmt.Errorf("negative buckets: %w", err)
	}
	if p.GetFlags()&flagNoRecordedValue != 0 {
		h.Sum = math.Float64frombits(value.StaleNaN)
	}
	return h, nil
}

// nativeBuckets turns one side of an OTLP exponential histogram into a
// single span of native buckets and their delta-encoded counts, merging
// 2^shift OTLP buckets into each. OTLP buckets are consecutive, so the
// merged ones are too: one span holds them all. It fails when the last
// index does not fit a span's int32.
func nativeBuckets(b *metricsv1.ExponentialHistogramDataPoint_Buckets, shift int32) ([]histogram.Span, []int64, error) {
	counts := b.GetBucketCounts()
	if len(counts) == 0 {
		return nil, nil, nil
	}
	// Native index of OTLP bucket j: floor(j / 2^shift) + 1; the shift of
	// a negative index floors too. Computed in 64 bits: j may pass int32.
	offset := int64(b.GetOffset())
	first := offset>>shift + 1
	if last := (offset+int64(len(counts))-1)>>shift + 1; last > math.MaxInt32 {
		return nil, nil, fmt.Errorf("bucket index %d is out of range", last)
	}
	merged := make([]uint64, 0, len(counts))
	for i, c := range counts {
		idx := (offset+int64(i))>>shift + 1
		if n := int(idx - first); n < len(merged) {
			merged[n] += c
			continue
		}
		merged = append(merged, c)
	}
	deltas := make([]int64, len(merged))
	var prev int64
	for i, c := range merged {
		deltas[i] = int64(c) - prev
		prev = int64(c)
	}
	return []histogram.Span{{Offset: int32(first), Length: uint32(len(merged))}}, deltas, nil
}
