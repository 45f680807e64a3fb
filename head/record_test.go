package head

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestRecordsRoundTrip(t *testing.T) {
	var b labels.ScratchBuilder
	series := []seriesRecord{
		{Ref: 1, Labels: labels.FromStrings("__name__", "up", "job", "node")},
		{Ref: 1 << 40, Labels: labels.FromStrings("a", "")},
	}
	gotSeries, err := decodeSeries(encodeSeries(nil, series), nil, &b)
	require.NoError(t, err)
	require.Len(t, gotSeries, 2)
	for i := range series {
		require.Equal(t, series[i].Ref, gotSeries[i].Ref)
		require.True(t, labels.Equal(series[i].Labels, gotSeries[i].Labels))
	}

	samples := []sampleRecord{
		{Ref: 10, T: 1000, V: 1}, {Ref: 3, T: -5000, V: math.Float64frombits(model.StaleNaN)},
		{Ref: 1 << 50, T: math.MaxInt64, V: math.Inf(-1)}, {Ref: 10, T: math.MinInt64 + 1, V: -0.0},
	}
	rec := encodeSamples(nil, samples)
	gotSamples, err := decodeSamples(rec, nil)
	require.NoError(t, err)
	require.Len(t, gotSamples, len(samples))
	for i := range samples {
		require.Equal(t, samples[i].Ref, gotSamples[i].Ref)
		require.Equal(t, samples[i].T, gotSamples[i].T)
		require.Equal(t, math.Float64bits(samples[i].V), math.Float64bits(gotSamples[i].V))
	}

	chunks := []chunkRecord{{Ref: 7, MinT: -1, MaxT: 99, Data: []byte{0, 1, 2, 3}}}
	gotChunks, err := decodeChunkRecord(encodeChunkRecord(nil, chunks), nil)
	require.NoError(t, err)
	require.Equal(t, chunks, gotChunks)

	meta := []metadataRecord{{Family: "up", Meta: model.Metadata{Type: "gauge", Help: "is it up", Unit: ""}}}
	gotMeta, err := decodeMetadata(encodeMetadata(nil, meta), nil)
	require.NoError(t, err)
	require.Equal(t, meta, gotMeta)

	ex := []exemplarRecord{{Ref: 2, E: model.Exemplar{Labels: labels.FromStrings("trace_id", "x"), T: 5, V: 0.5}}}
	gotEx, err := decodeExemplars(encodeExemplars(nil, ex), nil, &b)
	require.NoError(t, err)
	require.Len(t, gotEx, 1)
	require.Equal(t, ex[0].Ref, gotEx[0].Ref)
	require.True(t, labels.Equal(ex[0].E.Labels, gotEx[0].E.Labels))
}

// TestSamplesRecordSize pins the size of a typical batch: consecutive refs at
// one scrape time cost two delta bytes and 8 value bytes a sample.
func TestSamplesRecordSize(t *testing.T) {
	var s []sampleRecord
	for i := range 1000 {
		s = append(s, sampleRecord{Ref: model.SeriesRef(100 + i%60), T: 1_700_000_000_000, V: float64(i)})
	}
	rec := encodeSamples(nil, s)
	require.LessOrEqual(t, len(rec), 1000*10+16)
}

func TestRecordDecodeErrors(t *testing.T) {
	var b labels.ScratchBuilder
	full := encodeSamples(nil, []sampleRecord{{Ref: 1, T: 2, V: 3}, {Ref: 2, T: 3, V: 4}})
	for cut := 1; cut < len(full); cut++ {
		_, err := decodeSamples(full[:cut], nil)
		require.ErrorIs(t, err, errRecord, "cut at %d", cut)
	}
	_, err := decodeSeries([]byte{recSeries, 0xff, 0xff, 0xff, 0xff, 0x0f}, nil, &b)
	require.ErrorIs(t, err, errRecord, "a huge count is refused before allocating")
	_, err = decodeSamples(append(full[:len(full):len(full)], 0), nil)
	require.ErrorIs(t, err, errRecord, "trailing bytes")
}

// FuzzRecords feeds arbitrary bytes to every record decoder: errors are
// fine, panics are not; what decodes must encode back to a record that
// decodes the same.
func FuzzRecords(f *testing.F) {
	f.Add(encodeSeries(nil, []seriesRecord{{Ref: 1, Labels: labels.FromStrings("a", "b")}}))
	f.Add(encodeSamples(nil, []sampleRecord{{Ref: 1, T: 2, V: 3}}))
	f.Add(encodeChunkRecord(nil, []chunkRecord{{Ref: 1, Data: []byte{0, 0}}}))
	f.Add(encodeMetadata(nil, []metadataRecord{{Family: "x"}}))
	f.Add(encodeExemplars(nil, []exemplarRecord{{Ref: 1}}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		var b labels.ScratchBuilder
		switch recordType(rec) {
		case recSeries:
			if s, err := decodeSeries(rec, nil, &b); err == nil {
				again, err := decodeSeries(encodeSeries(nil, s), nil, &b)
				require.NoError(t, err)
				require.Len(t, again, len(s))
			}
		case recSamples:
			if s, err := decodeSamples(rec, nil); err == nil {
				again, err := decodeSamples(encodeSamples(nil, s), nil)
				require.NoError(t, err)
				require.Len(t, again, len(s))
				for i := range s {
					require.Equal(t, s[i].T, again[i].T)
					require.Equal(t, s[i].Ref, again[i].Ref)
				}
			}
		case recChunks:
			_, _ = decodeChunkRecord(rec, nil)
		case recMetadata:
			_, _ = decodeMetadata(rec, nil)
		case recExemplars:
			_, _ = decodeExemplars(rec, nil, &b)
		}
	})
}
