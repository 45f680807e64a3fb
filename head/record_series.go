package head

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Label tags of a packed series record (docs/format/wal-records.md,
// "Packed series"): what each label of a series is, relative to the label
// at the same position in the series before it in the record. Part of the
// on-disk format: never renumber them.
const (
	lblSame  = 0 // the same name and value
	lblValue = 1 // the same name, the value follows
	lblNew   = 2 // the name and the value follow
)

// maxPackedSeriesBytes bounds the label bytes one packed series record may
// decode to. A label repeated by a one-byte tag can be long, so a crafted
// record of a few bytes per series could otherwise ask for gigabytes; what
// the head writes stays far below (a commit logs at most its batch's
// series, a checkpoint a few thousand at a time).
const maxPackedSeriesBytes = 256 << 20

// encodeSeries appends a packed series record to b. Refs are signed deltas
// from the series before (the first from 0); each label is a tag saying
// whether it repeats the name and value, or the name only, of the label at
// the same position in the series before, followed by what does not
// repeat. A batch of series of one target, which share most labels, costs
// a byte for each label that repeats.
func encodeSeries(b []byte, series []seriesRecord) []byte {
	b = append(b, recSeriesPacked)
	b = binary.AppendUvarint(b, uint64(len(series)))
	var prevArr, curArr [16]labels.Label
	prev, cur := prevArr[:0], curArr[:0]
	prevRef := int64(0)
	for _, s := range series {
		b = binary.AppendVarint(b, int64(s.Ref)-prevRef)
		prevRef = int64(s.Ref)
		b = binary.AppendUvarint(b, uint64(s.Labels.Len()))
		cur = cur[:0]
		s.Labels.Range(func(l labels.Label) {
			i := len(cur)
			cur = append(cur, l)
			switch {
			case i < len(prev) && prev[i].Name == l.Name && prev[i].Value == l.Value:
				b = append(b, lblSame)
			case i < len(prev) && prev[i].Name == l.Name:
				b = append(b, lblValue)
				b = appendString(b, l.Value)
			default:
				b = append(b, lblNew)
				b = appendString(b, l.Name)
				b = appendString(b, l.Value)
			}
		})
		prev, cur = cur, prev
	}
	return b
}

// decodePackedSeries appends the series of a packed series record to dst.
func decodePackedSeries(rec []byte, dst []seriesRecord, b *labels.ScratchBuilder) ([]seriesRecord, error) {
	d := decoder{b: rec[1:]}
	n := d.count(2)
	var prevArr, curArr [16][2][]byte
	prev, cur := prevArr[:0], curArr[:0]
	ref, total := int64(0), 0
	for i := 0; i < n && d.err == nil; i++ {
		ref += d.varint()
		m := d.count(1)
		cur = cur[:0]
		b.Reset()
		for j := 0; j < m && d.err == nil; j++ {
			var name, value []byte
			switch tag := d.uvarint(); {
			case tag == lblSame && j < len(prev):
				name, value = prev[j][0], prev[j][1]
			case tag == lblValue && j < len(prev):
				name, value = prev[j][0], d.bytes()
			case tag == lblNew:
				name = d.bytes()
				value = d.bytes()
			default:
				d.fail("label tag")
			}
			if total += len(name) + len(value); total > maxPackedSeriesBytes {
				d.fail("label bytes")
			}
			cur = append(cur, [2][]byte{name, value})
			// The builder copies the strings into the label set it
			// returns, so they may point into the record until then.
			b.Add(unsafe.String(unsafe.SliceData(name), len(name)), unsafe.String(unsafe.SliceData(value), len(value)))
		}
		b.Sort()
		dst = append(dst, seriesRecord{Ref: model.SeriesRef(ref), Labels: b.Labels()})
		prev, cur = cur, prev
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("packed series record: %w", err)
	}
	return dst, nil
}
