package head

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Record types of native histograms (docs/format/wal-records.md). They are
// part of the on-disk format: never renumber them.
const (
	recHistograms      byte = 6 // integer histogram samples
	recFloatHistograms byte = 7 // float histogram samples
	recHistChunks      byte = 8 // histogram chunks (checkpoints only)
)

// histRecord is one histogram sample of one series: exactly one of H and
// FH is set, and it matches the record type.
type histRecord struct {
	Ref model.SeriesRef
	T   int64
	H   *histogram.Histogram
	FH  *histogram.FloatHistogram
}

// histChunkRecord is one encoded histogram chunk of one series.
type histChunkRecord struct {
	Ref        model.SeriesRef
	MinT, MaxT int64
	Encoding   pchunkenc.Encoding // EncHistogram or EncFloatHistogram
	Data       []byte
}

// encodeHistograms appends a histograms record of type typ (recHistograms,
// whose samples must all have H, or recFloatHistograms, with FH) to b.
func encodeHistograms(b []byte, typ byte, hs []histRecord) []byte {
	b = append(b, typ)
	b = binary.AppendUvarint(b, uint64(len(hs)))
	for _, r := range hs {
		b = binary.AppendUvarint(b, uint64(r.Ref))
		b = binary.AppendVarint(b, r.T)
		if typ == recFloatHistograms {
			b = appendFloatHistogram(b, r.FH)
		} else {
			b = appendIntHistogram(b, r.H)
		}
	}
	return b
}

// appendHistHeader appends the fields both histogram kinds share.
func appendHistHeader(b []byte, hint histogram.CounterResetHint, schema int32, zeroThreshold, sum float64) []byte {
	b = append(b, byte(hint))
	b = binary.AppendVarint(b, int64(schema))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(zeroThreshold))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(sum))
}

func appendSpans(b []byte, spans []histogram.Span) []byte {
	b = binary.AppendUvarint(b, uint64(len(spans)))
	for _, s := range spans {
		b = binary.AppendVarint(b, int64(s.Offset))
		b = binary.AppendUvarint(b, uint64(s.Length))
	}
	return b
}

func appendFloats(b []byte, vs []float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func appendDeltas(b []byte, vs []int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func appendIntHistogram(b []byte, h *histogram.Histogram) []byte {
	b = appendHistHeader(b, h.CounterResetHint, h.Schema, h.ZeroThreshold, h.Sum)
	b = binary.AppendUvarint(b, h.ZeroCount)
	b = binary.AppendUvarint(b, h.Count)
	b = appendSpans(b, h.PositiveSpans)
	b = appendDeltas(b, h.PositiveBuckets)
	b = appendSpans(b, h.NegativeSpans)
	b = appendDeltas(b, h.NegativeBuckets)
	return appendFloats(b, h.CustomValues)
}

func appendFloatHistogram(b []byte, h *histogram.FloatHistogram) []byte {
	b = appendHistHeader(b, h.CounterResetHint, h.Schema, h.ZeroThreshold, h.Sum)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.ZeroCount))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Count))
	b = appendSpans(b, h.PositiveSpans)
	b = appendFloats(b, h.PositiveBuckets)
	b = appendSpans(b, h.NegativeSpans)
	b = appendFloats(b, h.NegativeBuckets)
	return appendFloats(b, h.CustomValues)
}

// encodeHistChunks appends a histogram chunks record to b.
func encodeHistChunks(b []byte, cs []histChunkRecord) []byte {
	b = append(b, recHistChunks)
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, c := range cs {
		b = binary.AppendUvarint(b, uint64(c.Ref))
		b = binary.AppendVarint(b, c.MinT)
		b = binary.AppendVarint(b, c.MaxT)
		b = append(b, byte(c.Encoding))
		b = binary.AppendUvarint(b, uint64(len(c.Data)))
		b = append(b, c.Data...)
	}
	return b
}

// decodeHistograms appends the samples of a histograms record (either
// type) to dst. The histograms are fresh memory, not aliasing rec.
func decodeHistograms(rec []byte, dst []histRecord) ([]histRecord, error) {
	typ := recordType(rec)
	d := decoder{b: rec[1:]}
	n := d.count(24)
	for i := 0; i < n && d.err == nil; i++ {
		r := histRecord{Ref: model.SeriesRef(d.uvarint()), T: d.varint()}
		if typ == recFloatHistograms {
			r.FH = d.floatHistogram()
		} else {
			r.H = d.intHistogram()
		}
		dst = append(dst, r)
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("histograms record: %w", err)
	}
	return dst, nil
}

// histHeader reads the fields both histogram kinds share.
func (d *decoder) histHeader() (hint histogram.CounterResetHint, schema int32, zeroThreshold, sum float64) {
	if len(d.b) == 0 {
		d.fail("counter reset hint")
		return 0, 0, 0, 0
	}
	hint = histogram.CounterResetHint(d.b[0])
	d.b = d.b[1:]
	s := d.varint()
	if s < math.MinInt32 || s > math.MaxInt32 {
		d.fail("schema")
	}
	return hint, int32(s), d.float(), d.float()
}

func (d *decoder) spans() []histogram.Span {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	out := make([]histogram.Span, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		off := d.varint()
		l := d.uvarint()
		if off < math.MinInt32 || off > math.MaxInt32 || l > math.MaxUint32 {
			d.fail("span")
		}
		out = append(out, histogram.Span{Offset: int32(off), Length: uint32(l)})
	}
	return out
}

func (d *decoder) floats() []float64 {
	n := d.count(8)
	if n == 0 {
		return nil
	}
	out := make([]float64, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.float())
	}
	return out
}

func (d *decoder) deltas() []int64 {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]int64, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.varint())
	}
	return out
}

func (d *decoder) intHistogram() *histogram.Histogram {
	h := &histogram.Histogram{}
	h.CounterResetHint, h.Schema, h.ZeroThreshold, h.Sum = d.histHeader()
	h.ZeroCount = d.uvarint()
	h.Count = d.uvarint()
	h.PositiveSpans = d.spans()
	h.PositiveBuckets = d.deltas()
	h.NegativeSpans = d.spans()
	h.NegativeBuckets = d.deltas()
	h.CustomValues = d.floats()
	return h
}

func (d *decoder) floatHistogram() *histogram.FloatHistogram {
	h := &histogram.FloatHistogram{}
	h.CounterResetHint, h.Schema, h.ZeroThreshold, h.Sum = d.histHeader()
	h.ZeroCount = d.float()
	h.Count = d.float()
	h.PositiveSpans = d.spans()
	h.PositiveBuckets = d.floats()
	h.NegativeSpans = d.spans()
	h.NegativeBuckets = d.floats()
	h.CustomValues = d.floats()
	return h
}

// decodeHistChunks appends the chunks of a histogram chunks record to dst.
// Data slices point into rec. An encoding other than the two histogram
// ones is an error.
func decodeHistChunks(rec []byte, dst []histChunkRecord) ([]histChunkRecord, error) {
	d := decoder{b: rec[1:]}
	n := d.count(5)
	for i := 0; i < n && d.err == nil; i++ {
		c := histChunkRecord{Ref: model.SeriesRef(d.uvarint())}
		c.MinT = d.varint()
		c.MaxT = d.varint()
		if len(d.b) == 0 {
			d.fail("encoding")
			break
		}
		c.Encoding = pchunkenc.Encoding(d.b[0])
		d.b = d.b[1:]
		if c.Encoding != pchunkenc.EncHistogram && c.Encoding != pchunkenc.EncFloatHistogram {
			d.fail(fmt.Sprintf("chunk encoding %d", c.Encoding))
			break
		}
		c.Data = d.bytes()
		dst = append(dst, c)
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("histogram chunks record: %w", err)
	}
	return dst, nil
}
