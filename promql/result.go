package promql

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// queryData is the data of a query or query_range answer; Result is the
// value already encoded by appendValue.
type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     json.RawMessage  `json:"result"`
}

// appendValue encodes a PromQL value the way the Prometheus API does:
// timestamps as float seconds, values as strings, [] for empty results.
func appendValue(b []byte, v parser.Value) []byte {
	switch v := v.(type) {
	case upstream.Scalar:
		return appendPoint(b, v.T, v.V)
	case upstream.String:
		b = append(b, '[')
		b = appendTimestamp(b, v.T)
		b = append(b, ',')
		b = strconv.AppendQuote(b, v.V)
		return append(b, ']')
	case upstream.Vector:
		return appendList(b, v, appendSample)
	case upstream.Matrix:
		return appendList(b, v, appendSeries)
	default:
		return append(b, "[]"...)
	}
}

// appendList writes items as a JSON array, each with appendItem.
func appendList[T any](b []byte, items []T, appendItem func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, it)
	}
	return append(b, ']')
}

func appendSample(b []byte, s upstream.Sample) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, s.Metric)
	if s.H != nil {
		b = append(b, `,"histogram":`...)
		b = appendHistogramPoint(b, s.T, s.H)
	} else {
		b = append(b, `,"value":`...)
		b = appendPoint(b, s.T, s.F)
	}
	return append(b, '}')
}

func appendSeries(b []byte, s upstream.Series) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, s.Metric)
	if len(s.Floats) > 0 || len(s.Histograms) == 0 {
		b = append(b, `,"values":[`...)
		for i, p := range s.Floats {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPoint(b, p.T, p.F)
		}
		b = append(b, ']')
	}
	if len(s.Histograms) > 0 {
		b = append(b, `,"histograms":[`...)
		for i, p := range s.Histograms {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHistogramPoint(b, p.T, p.H)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendLabels writes a label set as a JSON object, in label order.
func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendQuote(b, l.Name)
		b = append(b, ':')
		b = strconv.AppendQuote(b, l.Value)
	})
	return append(b, '}')
}

// appendPoint writes [<seconds>,"<value>"].
func appendPoint(b []byte, t int64, v float64) []byte {
	b = append(b, '[')
	b = appendTimestamp(b, t)
	b = append(b, ',', '"')
	b = appendFloat(b, v)
	return append(b, '"', ']')
}

// appendTimestamp writes milliseconds as decimal seconds without going
// through a float, so 1435781451781 is exactly 1435781451.781.
func appendTimestamp(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/1000, 10)
	if frac := t % 1000; frac != 0 {
		b = append(b, '.')
		var digits [4]byte
		s := strconv.AppendInt(digits[:0], frac+1000, 10)[1:] // zero-padded to 3 digits
		for len(s) > 0 && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		b = append(b, s...)
	}
	return b
}

// appendFloat writes a value as Prometheus does: NaN, +Inf, -Inf, plain
// decimals, and exponent notation only for very small or large magnitudes.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

// appendHistogramPoint writes [<seconds>,{"count":..,"sum":..,"buckets":[..]}]
// with buckets as [boundaryRule,"lower","upper","count"].
func appendHistogramPoint(b []byte, t int64, h *histogram.FloatHistogram) []byte {
	b = append(b, '[')
	b = appendTimestamp(b, t)
	b = append(b, `,{"count":"`...)
	b = appendFloat(b, h.Count)
	b = append(b, `","sum":"`...)
	b = appendFloat(b, h.Sum)
	b = append(b, '"')
	first := true
	it := h.AllBucketIterator()
	for it.Next() {
		bk := it.At()
		if bk.Count == 0 {
			continue
		}
		if first {
			b = append(b, `,"buckets":[`...)
		} else {
			b = append(b, ',')
		}
		first = false
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(boundaryRule(bk)), 10)
		for _, f := range []float64{bk.Lower, bk.Upper, bk.Count} {
			b = append(b, ',', '"')
			b = appendFloat(b, f)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	if !first {
		b = append(b, ']')
	}
	return append(b, '}', ']')
}

// boundaryRule numbers which ends of a bucket are inclusive, as the
// Prometheus API does: 0 open left, 1 open right, 2 open both, 3 closed both.
func boundaryRule(bk histogram.Bucket[float64]) int {
	switch {
	case bk.LowerInclusive && bk.UpperInclusive:
		return 3
	case bk.LowerInclusive:
		return 1
	case bk.UpperInclusive:
		return 0
	default:
		return 2
	}
}
