package remote

import (
	"math"
	"testing"

	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
)

// flatSeriesV2 is what a remote write 2.0 series adds to flatSeries.
type flatSeriesV2 struct {
	Starts    []int64 // each sample's start timestamp
	CT        int64
	Meta      metadataRef
	HasMeta   bool
	BadSymbol bool
}

// flattenV2 renders a batch of remote write 2.0 for comparison.
func flattenV2(b *writeBatch) ([]flatSeries, []flatSeriesV2) {
	flat, _ := flattenBatch(b)
	out := []flatSeriesV2{}
	for _, s := range b.series {
		f := flatSeriesV2{CT: s.ct, Meta: s.meta, HasMeta: s.hasMeta, BadSymbol: s.badSymbol}
		for _, smp := range b.samples[s.samplesFrom:s.samplesTo] {
			f.Starts = append(f.Starts, smp.st)
		}
		out = append(out, f)
	}
	return flat, out
}

// seedRW2 is a request using every field of remote write 2.0, the
// created timestamp as an unknown field included.
func seedRW2(t testing.TB) []byte {
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "up", "job", "a", "trace_id", "x", "Help.", "s"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2, 3, 4},
			Samples:    []writev2.Sample{{Timestamp: 1, Value: 1, StartTimestamp: 1}, {Timestamp: -5, Value: math.NaN()}},
			Exemplars:  []writev2.Exemplar{{LabelsRefs: []uint32{5, 6}, Value: 1, Timestamp: 1}, {LabelsRefs: []uint32{5, 99}}},
			Histograms: []writev2.Histogram{{Timestamp: 1, Schema: 3, PositiveDeltas: []int64{1, -1}},
				{Timestamp: 2, Count: &writev2.Histogram_CountFloat{CountFloat: 2}, CustomValues: []float64{1}, PositiveCounts: []float64{2}}},
			Metadata:         writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE, HelpRef: 7, UnitRef: 8},
			XXX_unrecognized: ctField(7),
		}, {
			LabelsRefs: []uint32{1, 2, 3}, // odd: a bad series
			Samples:    []writev2.Sample{{Timestamp: 2, Value: 2}},
		}},
	}
	b, err := req.Marshal()
	require.NoError(t, err)
	return b
}

// FuzzRW2Decode checks that the hand-written remote write 2.0 decoder
// agrees with the generated one (writev2.Request.Unmarshal, checkRW2 and
// fromRW2) on every input: both refuse it, or both give the same batch.
func FuzzRW2Decode(f *testing.F) {
	f.Add(seedRW2(f))
	f.Add(seedRW1(f))
	f.Add([]byte{})
	f.Add([]byte{0x22, 0x01, 0x61, 0x22, 0x00})                   // symbols ["a", ""]
	f.Add([]byte{0x2a, 0x04, 0x0a, 0x02, 0x01, 0x81})             // packed refs running past their end
	f.Add([]byte{0x2a, 0x06, 0x08, 0x01, 0x08, 0x02, 0x30, 0x05}) // unpacked refs, created timestamp
	f.Add([]byte{0x2a, 0x08, 0x2a, 0x02, 0x08, 0x02, 0x2a, 0x02, 0x18, 0x01})
	var got, want writeBatch
	f.Fuzz(func(t *testing.T, data []byte) {
		errGot := got.decodeRW2(data)
		if errGot == nil {
			errGot = got.checkRW2Batch(len(data))
		}
		var req writev2.Request
		errWant := req.Unmarshal(data)
		if errWant == nil {
			errWant = checkRW2(&req, len(data))
		}
		require.Equal(t, errWant == nil, errGot == nil, "generated: %v, ours: %v", errWant, errGot)
		if errWant != nil {
			return
		}
		want.fromRW2(&req)
		ws, wv := flattenV2(&want)
		gs, gv := flattenV2(&got)
		require.Equal(t, ws, gs)
		require.Equal(t, wv, gv)
	})
}
