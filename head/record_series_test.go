package head

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// encodeSeriesV1 appends a series record of type recSeries, the encoding
// the head wrote before recSeriesPacked: each ref as a uvarint and every
// label in full. The head no longer writes it; tests use it to prove that
// such records, still found in WALs and checkpoints on disk, replay.
func encodeSeriesV1(b []byte, series []seriesRecord) []byte {
	b = append(b, recSeries)
	b = binary.AppendUvarint(b, uint64(len(series)))
	for _, s := range series {
		b = binary.AppendUvarint(b, uint64(s.Ref))
		b = appendLabels(b, s.Labels)
	}
	return b
}

// packedSeriesCases are series that repeat labels in every way a packed
// record encodes: all, names only, none, fewer and more labels than the
// series before, an empty value, refs going down.
func packedSeriesCases() []seriesRecord {
	return []seriesRecord{
		{Ref: 10, Labels: labels.FromStrings("__name__", "up", "instance", "a:9100", "job", "node")},
		{Ref: 11, Labels: labels.FromStrings("__name__", "up", "instance", "b:9100", "job", "node")},
		{Ref: 12, Labels: labels.FromStrings("__name__", "up", "instance", "b:9100", "job", "node")},
		{Ref: 3, Labels: labels.FromStrings("__name__", "x", "a", "")},
		{Ref: 1 << 40, Labels: labels.FromStrings("__name__", "x", "a", "", "b", "c", "d", "e")},
		{Ref: 1 << 40, Labels: labels.EmptyLabels()},
		{Ref: 0, Labels: labels.FromStrings("z", "z")},
	}
}

// equalSeries wants got to hold want's series.
func equalSeries(t *testing.T, want, got []seriesRecord) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Ref, got[i].Ref, "series %d ref", i)
		require.True(t, labels.Equal(want[i].Labels, got[i].Labels), "series %d: got %s, want %s", i, got[i].Labels, want[i].Labels)
	}
}

func TestPackedSeriesRoundTrip(t *testing.T) {
	var b labels.ScratchBuilder
	in := packedSeriesCases()
	rec := encodeSeries(nil, in)
	require.Equal(t, recSeriesPacked, rec[0])
	require.Equal(t, recSeries, recordType(rec))
	got, err := decodeSeries(rec, nil, &b)
	require.NoError(t, err)
	equalSeries(t, in, got)
	// More labels than the encoder keeps on its stack.
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("l%02d", i), fmt.Sprint(i))
	}
	big := []seriesRecord{{Ref: 1, Labels: labels.FromStrings(many...)}, {Ref: 2, Labels: labels.FromStrings(many...)}}
	got, err = decodeSeries(encodeSeries(nil, big), nil, &b)
	require.NoError(t, err)
	equalSeries(t, big, got)
}

// TestPackedSeriesSize: a batch of one target's series, which differ in a
// label or two, costs a few bytes beyond what differs.
func TestPackedSeriesSize(t *testing.T) {
	var in []seriesRecord
	for i := range 1000 {
		in = append(in, seriesRecord{Ref: model.SeriesRef(i + 1), Labels: benchLabels(i)})
	}
	packed, old := len(encodeSeries(nil, in)), len(encodeSeriesV1(nil, in))
	require.Less(t, packed, old/3, "packed %d bytes, type 1 %d", packed, old)
}

// TestSeriesV1StillDecode decodes records of the encoding the head wrote
// before the packed one.
func TestSeriesV1StillDecode(t *testing.T) {
	var b labels.ScratchBuilder
	in := packedSeriesCases()
	got, err := decodeSeries(encodeSeriesV1(nil, in), nil, &b)
	require.NoError(t, err)
	equalSeries(t, in, got)
}

// TestPackedSeriesErrors refuses a tag that names a label the series
// before did not have, an unknown tag, a cut record, and a record that
// would repeat one long label into too many bytes.
func TestPackedSeriesErrors(t *testing.T) {
	var b labels.ScratchBuilder
	for name, rec := range map[string][]byte{
		"same without a series before":  {recSeriesPacked, 1, 2, 1, lblSame},
		"value without a series before": {recSeriesPacked, 1, 2, 1, lblValue, 1, 'v'},
		"unknown tag":                   {recSeriesPacked, 1, 2, 1, 3, 1, 'a', 1, 'b'},
	} {
		_, err := decodeSeries(rec, nil, &b)
		require.ErrorIs(t, err, errRecord, name)
	}
	full := encodeSeries(nil, packedSeriesCases())
	for cut := 1; cut < len(full); cut++ {
		_, err := decodeSeries(full[:cut], nil, &b)
		require.ErrorIs(t, err, errRecord, "cut at %d", cut)
	}
	// One label of 1 MiB, then series that repeat it with one tag each.
	long := make([]byte, 1<<20)
	rec := []byte{recSeriesPacked}
	const n = 300
	rec = binary.AppendUvarint(rec, n)
	rec = append(rec, 2, 1, lblNew, 1, 'a')
	rec = binary.AppendUvarint(rec, uint64(len(long)))
	rec = append(rec, long...)
	for range n - 1 {
		rec = append(rec, 2, 1, lblSame)
	}
	_, err := decodeSeries(rec, nil, &b)
	require.ErrorIs(t, err, errRecord, "more than the label bytes a record may decode to")
}

// FuzzPackedSeries decodes arbitrary bytes as a packed series record:
// errors are fine, panics are not, and whatever decodes must encode to a
// record that decodes to the same series. The series decoded from the
// bytes read as a type 1 record must survive the packed encoding too, and
// decode the same from both encodings (a differential check).
func FuzzPackedSeries(f *testing.F) {
	f.Add(encodeSeries(nil, packedSeriesCases())[1:])
	f.Add(encodeSeriesV1(nil, packedSeriesCases())[1:])
	f.Add([]byte{1, 2, 1, lblSame})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b labels.ScratchBuilder
		if s, err := decodeSeries(append([]byte{recSeriesPacked}, data...), nil, &b); err == nil {
			again, err := decodeSeries(encodeSeries(nil, s), nil, &b)
			require.NoError(t, err)
			equalSeries(t, s, again)
		}
		if s, err := decodeSeries(append([]byte{recSeries}, data...), nil, &b); err == nil {
			packed, err := decodeSeries(encodeSeries(nil, s), nil, &b)
			require.NoError(t, err)
			equalSeries(t, s, packed)
			raw, err := decodeSeries(encodeSeriesV1(nil, s), nil, &b)
			require.NoError(t, err)
			equalSeries(t, raw, packed)
		}
	})
}
