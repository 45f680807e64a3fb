package remote

import (
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
)

// flatSeries is a decoded series in a form both decoders can produce.
type flatSeries struct {
	Labels     []labelRef
	Samples    [][2]uint64 // t, value bits
	Exemplars  [][3]any
	Histograms int
	Hists      []string // each histogram's time and every field, printed
}

// histString prints a histogram sample with all its fields.
func histString(t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) string {
	if fh != nil {
		return fmt.Sprintf("%d float %+v", t, *fh)
	}
	return fmt.Sprintf("%d int %+v", t, *h)
}

// flatten renders a writeBatch for comparison.
func flattenBatch(b *writeBatch) ([]flatSeries, []metadataRef) {
	out := []flatSeries{}
	for _, s := range b.series {
		f := flatSeries{Labels: append([]labelRef{}, b.labels[s.labelsFrom:s.labelsTo]...), Histograms: s.histograms}
		for _, smp := range b.samples[s.samplesFrom:s.samplesTo] {
			f.Samples = append(f.Samples, [2]uint64{uint64(smp.t), math.Float64bits(smp.v)})
		}
		for _, e := range b.exemplars[s.exemplarsFrom:s.exemplarsTo] {
			f.Exemplars = append(f.Exemplars, [3]any{append([]labelRef{}, b.exLabels[e.labelsFrom:e.labelsTo]...), e.t, math.Float64bits(e.v)})
		}
		for _, hr := range b.hists[s.histsFrom : s.histsFrom+s.histograms] {
			f.Hists = append(f.Hists, histString(hr.t, hr.h, hr.fh))
		}
		out = append(out, f)
	}
	return out, append([]metadataRef{}, b.metadata...)
}

// flattenGogo renders a gogo-decoded request the same way.
func flattenGogo(req *prompb.WriteRequest) ([]flatSeries, []metadataRef) {
	refs := func(ls []prompb.Label) []labelRef {
		out := []labelRef{}
		for _, l := range ls {
			out = append(out, labelRef{l.Name, l.Value})
		}
		return out
	}
	out := []flatSeries{}
	for _, ts := range req.Timeseries {
		f := flatSeries{Labels: refs(ts.Labels), Histograms: len(ts.Histograms)}
		for _, smp := range ts.Samples {
			f.Samples = append(f.Samples, [2]uint64{uint64(smp.Timestamp), math.Float64bits(smp.Value)})
		}
		for _, e := range ts.Exemplars {
			f.Exemplars = append(f.Exemplars, [3]any{refs(e.Labels), e.Timestamp, math.Float64bits(e.Value)})
		}
		for _, h := range ts.Histograms {
			if h.IsFloatHistogram() {
				f.Hists = append(f.Hists, histString(h.Timestamp, nil, h.ToFloatHistogram()))
			} else {
				f.Hists = append(f.Hists, histString(h.Timestamp, h.ToIntHistogram(), nil))
			}
		}
		out = append(out, f)
	}
	md := []metadataRef{}
	for _, m := range req.Metadata {
		md = append(md, metadataRef{typ: int32(m.Type), family: m.MetricFamilyName, help: m.Help, unit: m.Unit})
	}
	return out, md
}

// seedRW1 is a request using every field of remote write 1.0.
func seedRW1(t testing.TB) []byte {
	req := &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{{
			Labels:    lbls("__name__", "up", "job", "a"),
			Samples:   []prompb.Sample{{Timestamp: 1, Value: 1}, {Timestamp: -5, Value: math.NaN()}},
			Exemplars: []prompb.Exemplar{{Labels: lbls("trace_id", "x"), Value: 1, Timestamp: 1}},
			Histograms: []prompb.Histogram{{Timestamp: 1, Schema: 3, PositiveDeltas: []int64{1, -1}},
				{Timestamp: 2, Count: &prompb.Histogram_CountFloat{CountFloat: 2}, CustomValues: []float64{1}, PositiveCounts: []float64{2}}},
		}},
		Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "up", Help: "h", Unit: "u"}},
	}
	b, err := req.Marshal()
	require.NoError(t, err)
	return b
}

// FuzzWriteDecode feeds arbitrary bodies to the write path: the hand-written
// remote write 1.0 decoder must agree with the generated one, neither
// protocol may panic the handler, and a 204 is only ever given to an empty
// message or one holding a field of the declared type (and, in 2.0, a
// symbol table starting with "").
func FuzzWriteDecode(f *testing.F) {
	f.Add(seedRW1(f), false)
	f.Add([]byte{}, false)
	f.Add([]byte{0x0a, 0x02, 0x1b, 0x1c}, false) // group inside a series
	v2, err := (&writev2.Request{
		Symbols: []string{"", "__name__", "x"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Timestamp: 1, Value: 2}},
			Exemplars: []writev2.Exemplar{{LabelsRefs: []uint32{2, 1}}},
			Metadata:  writev2.Metadata{Type: 2, HelpRef: 2}, XXX_unrecognized: ctField(1),
		}},
	}).Marshal()
	require.NoError(f, err)
	f.Add(v2, true)
	f.Add(v2, false)                                  // a 2.0 body sent as 1.0
	f.Add(seedRW1(f), true)                           // a 1.0 body sent as 2.0
	f.Add([]byte{0x22, 0x01, 0x61, 0x22, 0x00}, true) // symbols ["a", ""]

	s := newMemStore()
	opts := fixedOpts()
	opts.CreatedTimestampZeroIngestion = true
	h := newHandler(f, s, opts)
	var b writeBatch
	f.Fuzz(func(t *testing.T, data []byte, isV2 bool) {
		if !isV2 {
			var want prompb.WriteRequest
			errWant := want.Unmarshal(data)
			errGot := b.decodeRW1(data)
			require.Equal(t, errWant == nil, errGot == nil, "gogo: %v, ours: %v", errWant, errGot)
			if errWant == nil {
				ws, wm := flattenGogo(&want)
				gs, gm := flattenBatch(&b)
				require.Equal(t, ws, gs)
				require.Equal(t, wm, gm)
			}
			w := post(h, snappy.Encode(nil, data))
			if w.Code == http.StatusNoContent && len(data) > 0 {
				require.NotZero(t, len(want.Timeseries)+len(want.Metadata), "204 for a body with no 1.0 field")
			}
			return
		}
		w := post(h, snappy.Encode(nil, data), v2Header...)
		if w.Code != http.StatusNoContent {
			return
		}
		var req writev2.Request
		require.NoError(t, req.Unmarshal(data), "204 for a body gogo refuses")
		if len(data) > 0 {
			require.NotZero(t, len(req.Symbols)+len(req.Timeseries), "204 for a body with no 2.0 field")
		}
		if len(req.Symbols) > 0 {
			require.Empty(t, req.Symbols[0], "204 with a first symbol that is not empty")
		}
	})
}
