package head

import "encoding/binary"

// encodeSeriesSyms appends a packed series record of series the head holds,
// reading their labels as symbol ids: the bytes are those encodeSeries
// writes for the same refs and label sets (TestEncodeSeriesSyms pins it),
// but no label set is built. A commit of new series logs every one of
// them, and building their label sets only to take them apart again cost
// more than the encoding itself.
//
// A label repeats the one at its position in the series before when the
// ids match, or, for two ids of one string, when the strings do. The
// caller need not hold the series' locks: symbol ids never change, and the
// series' references keep their strings interned.
func encodeSeriesSyms(b []byte, series []*memSeries, syms *symbols) []byte {
	b = append(b, recSeriesPacked)
	b = binary.AppendUvarint(b, uint64(len(series)))
	pages := *syms.pages.Load()
	var prevArr, curArr [32]uint32
	prev, cur := prevArr[:0], curArr[:0]
	prevRef := int64(0)
	for _, s := range series {
		b = binary.AppendVarint(b, int64(s.ref)-prevRef)
		prevRef = int64(s.ref)
		b = binary.AppendUvarint(b, uint64(s.lset.count()/2))
		cur = cur[:0]
		for i := 0; i < len(s.lset); {
			var n, v uint32
			n, i = s.lset.at(i)
			v, i = s.lset.at(i) // a name is always followed by its value
			k := len(cur)
			cur = append(cur, n, v)
			sameName := k < len(prev) && (prev[k] == n || pageStr(pages, prev[k]) == pageStr(pages, n))
			switch {
			case sameName && (prev[k+1] == v || pageStr(pages, prev[k+1]) == pageStr(pages, v)):
				b = append(b, lblSame)
			case sameName:
				b = append(b, lblValue)
				b = appendString(b, pageStr(pages, v))
			default:
				b = append(b, lblNew)
				b = appendString(b, pageStr(pages, n))
				b = appendString(b, pageStr(pages, v))
			}
		}
		prev, cur = cur, prev
	}
	return b
}
