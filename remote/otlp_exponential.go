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
// which no native schema can hold.
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
	h.PositiveSpans, h.PositiveBuckets = nativeBuckets(p.GetPositive(), shift)
	h.NegativeSpans, h.NegativeBuckets = nativeBuckets(p.GetNegative(), shift)
	if p.GetFlags()&flagNoRecordedValue != 0 {
		h.Sum = math.Float64frombits(value.StaleNaN)
	}
	return h, nil
}

// nativeBuckets turns one side of an OTLP exponential histogram into a
// single span of native buckets and their delta-encoded counts, merging
// 2^shift OTLP buckets into each. OTLP buckets are consecutive, so the
// merged ones are too: one span holds them all.
func nativeBuckets(b *metricsv1.ExponentialHistogramDataPoint_Buckets, shift int32) ([]histogram.Span, []int64) {
	counts := b.GetBucketCounts()
	if len(counts) == 0 {
		return nil, nil
	}
	// Native index of OTLP bucket j: floor(j / 2^shift) + 1; the shift of
	// a negative index floors too.
	first := (b.GetOffset() >> shift) + 1
	merged := make([]uint64, 0, len(counts))
	for i, c := range counts {
		idx := ((b.GetOffset() + int32(i)) >> shift) + 1
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
	return []histogram.Span{{Offset: first, Length: uint32(len(merged))}}, deltas
}
