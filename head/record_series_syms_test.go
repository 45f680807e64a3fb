package head

import (
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestEncodeSeriesSyms checks that the record written from symbol ids is
// byte for byte the one encodeSeries writes from the label sets: every way
// a label repeats, ids of more than one byte, more labels than the encoder's
// stack arrays hold, and series of scrape targets.
func TestEncodeSeriesSyms(t *testing.T) {
	cases := packedSeriesCases()
	var sb labels.ScratchBuilder
	for i := range 300 {
		cases = append(cases, seriesRecord{Ref: model.SeriesRef(100 + i), Labels: targetLabels(&sb, i*7)})
	}
	for i := range 200 {
		cases = append(cases, seriesRecord{Ref: model.SeriesRef(1000 - i), Labels: labels.FromStrings("a", "v"+strconv.Itoa(i/3), "b", "w"+strconv.Itoa(i))})
	}
	var many []string
	for i := range 40 {
		many = append(many, "n"+strconv.Itoa(i), strconv.Itoa(i%3))
	}
	cases = append(cases, seriesRecord{Ref: 5, Labels: labels.FromStrings(many...)}, seriesRecord{Ref: 6, Labels: labels.FromStrings(many...)})

	syms := newSymbols()
	series := make([]*memSeries, len(cases))
	for i, c := range cases {
		series[i] = syms.newSeries(c.Ref, model.Hash(c.Labels), c.Labels)
	}
	require.Equal(t, encodeSeries(nil, cases), encodeSeriesSyms(nil, series, syms))
	require.Equal(t, encodeSeries([]byte("x"), cases[:1]), encodeSeriesSyms([]byte("x"), series[:1], syms))
	require.Equal(t, encodeSeries(nil, nil), encodeSeriesSyms(nil, nil, syms))
}

func TestSymRefsCount(t *testing.T) {
	for _, ids := range [][]uint32{nil, {0}, {1, 127, 128, 1 << 20, 1<<32 - 1}} {
		var b []byte
		for _, id := range ids {
			b = appendSymRef(b, id)
		}
		require.Equal(t, len(ids), symRefs(b).count())
	}
}
