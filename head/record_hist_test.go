package head

import (
	"encoding/hex"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// goldenHists returns integer and float histogram records that cover every field of the histogram
// records: both sides, spans with gaps, a reset hint, custom bounds.
func goldenHists() ([]histRecord, []histRecord) {
	ints := []histRecord{
		{Ref: 1, T: 1_700_000_000_000, H: &histogram.Histogram{
			CounterResetHint: histogram.CounterReset, Schema: 3, ZeroThreshold: 0.001, ZeroCount: 2, Count: 9, Sum: 18.5,
			PositiveSpans: []histogram.Span{{Offset: -2, Length: 2}, {Offset: 3, Length: 1}}, PositiveBuckets: []int64{1, 2, -1},
			NegativeSpans: []histogram.Span{{Offset: 1, Length: 1}}, NegativeBuckets: []int64{3},
		}},
		{Ref: 300, T: -5, H: &histogram.Histogram{
			Schema: histogram.CustomBucketsSchema, Count: 3, Sum: math.NaN(),
			PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []int64{1, 1}, CustomValues: []float64{0.5, 10},
		}},
	}
	floats := []histRecord{
		{Ref: 2, T: 1_700_000_015_000, FH: &histogram.FloatHistogram{
			CounterResetHint: histogram.GaugeType, Schema: -2, ZeroThreshold: 1e-9, ZeroCount: 0.5, Count: 4.5, Sum: -3,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []float64{1.5},
			NegativeSpans: []histogram.Span{{Offset: 0, Length: 2}}, NegativeBuckets: []float64{1, 1.5},
		}},
	}
	return ints, floats
}

func histGoldenRecords() map[string]goldenRecord {
	ints, floats := goldenHists()
	chunk := pchunkenc.NewHistogramChunk()
	app, _ := chunk.Appender()
	_, _, _, _ = app.AppendHistogram(nil, 0, 1000, ints[0].H.Copy(), false)
	chunks := []histChunkRecord{
		{Ref: 7, MinT: 1000, MaxT: 1000, Encoding: pchunkenc.EncHistogram, Data: chunk.Bytes()},
		{Ref: 8, MinT: -1, MaxT: -1, Encoding: pchunkenc.EncFloatHistogram, Data: nil},
	}
	checkHists := func(want []histRecord) func(t *testing.T, rec []byte) {
		return func(t *testing.T, rec []byte) {
			got, err := decodeHistograms(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d histograms, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Ref != want[i].Ref || got[i].T != want[i].T || !sameHist(got[i], want[i]) {
					t.Fatalf("histogram %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
		}
	}
	return map[string]goldenRecord{
		"histograms":       {recHistograms, func() []byte { return encodeHistograms(nil, recHistograms, ints) }, checkHists(ints)},
		"float_histograms": {recFloatHistograms, func() []byte { return encodeHistograms(nil, recFloatHistograms, floats) }, checkHists(floats)},
		"histogram_chunks": {recHistChunks, func() []byte { return encodeHistChunks(nil, chunks) }, func(t *testing.T, rec []byte) {
			got, err := decodeHistChunks(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(chunks) {
				t.Fatalf("got %d chunks, want %d", len(got), len(chunks))
			}
			for i, c := range chunks {
				g := got[i]
				if g.Ref != c.Ref || g.MinT != c.MinT || g.MaxT != c.MaxT || g.Encoding != c.Encoding || hex.EncodeToString(g.Data) != hex.EncodeToString(c.Data) {
					t.Fatalf("chunk %d: got %+v, want %+v", i, g, c)
				}
			}
		}},
	}
}

// sameHist compares two histogram records field by field, the reset hint
// and NaN sums included (Equals ignores the hint).
func sameHist(a, b histRecord) bool {
	if a.H != nil && b.H != nil {
		return a.H.CounterResetHint == b.H.CounterResetHint && a.H.Equals(b.H)
	}
	if a.FH != nil && b.FH != nil {
		return a.FH.CounterResetHint == b.FH.CounterResetHint && a.FH.Equals(b.FH)
	}
	return false
}

func TestHistogramRecordRoundTrip(t *testing.T) {
	ints, floats := goldenHists()
	for _, tc := range []struct {
		typ  byte
		recs []histRecord
	}{{recHistograms, ints}, {recFloatHistograms, floats}, {recHistograms, nil}} {
		rec := encodeHistograms(nil, tc.typ, tc.recs)
		got, err := decodeHistograms(rec, nil)
		if err != nil {
			t.Fatalf("type %d: %v", tc.typ, err)
		}
		if len(got) != len(tc.recs) {
			t.Fatalf("type %d: got %d, want %d", tc.typ, len(got), len(tc.recs))
		}
		for i := range got {
			if !sameHist(got[i], tc.recs[i]) {
				t.Fatalf("type %d record %d: got %+v, want %+v", tc.typ, i, got[i], tc.recs[i])
			}
		}
		// Every cut short of the end is refused, never misread.
		for n := 1; n < len(rec); n++ {
			if _, err := decodeHistograms(rec[:n], nil); err == nil && len(tc.recs) > 0 {
				t.Fatalf("type %d cut at %d of %d bytes: decoded without error", tc.typ, n, len(rec))
			}
		}
	}
}

func TestHistChunkRecordRefusesOtherEncodings(t *testing.T) {
	rec := encodeHistChunks(nil, []histChunkRecord{{Ref: 1, Encoding: pchunkenc.EncXOR, Data: []byte{0, 0}}})
	if _, err := decodeHistChunks(rec, nil); err == nil {
		t.Fatalf("an XOR chunk in a histogram chunks record decoded without error")
	}
}

// FuzzHistogramRecords decodes arbitrary histogram records: no panic, and
// what decodes encodes back to the same bytes.
func FuzzHistogramRecords(f *testing.F) {
	ints, floats := goldenHists()
	f.Add(encodeHistograms(nil, recHistograms, ints))
	f.Add(encodeHistograms(nil, recFloatHistograms, floats))
	f.Add(encodeHistChunks(nil, []histChunkRecord{{Ref: 1, Encoding: pchunkenc.EncHistogram, Data: []byte{0, 1, 2}}}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		switch recordType(rec) {
		case recHistograms, recFloatHistograms:
			got, err := decodeHistograms(rec, nil)
			if err != nil {
				return
			}
			again := encodeHistograms(nil, rec[0], got)
			got2, err := decodeHistograms(again, nil)
			if err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
			if third := encodeHistograms(nil, rec[0], got2); hex.EncodeToString(third) != hex.EncodeToString(again) {
				t.Fatalf("encoding is not stable:\n%x\n%x", again, third)
			}
		case recHistChunks:
			got, err := decodeHistChunks(rec, nil)
			if err != nil {
				return
			}
			if again := encodeHistChunks(nil, got); len(again) > len(rec) {
				t.Fatalf("re-encoded %d chunks into %d bytes from %d", len(got), len(again), len(rec))
			}
		}
	})
}
