package head

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// recordType returns the kind of a record: its type byte, except that both
// encodings of series (recSeries and recSeriesPacked) are of kind
// recSeries, which decodeSeries reads, and both of float samples
// (recSamples and recSamplesPacked) of kind recSamples, which
// decodeSamples reads; 0 for an empty record.
func recordType(rec []byte) byte {
	if len(rec) == 0 {
		return 0
	}
	switch rec[0] {
	case recSeriesPacked:
		return recSeries
	case recSamplesPacked:
		return recSamples
	}
	return rec[0]
}

// decodeSeries appends the series of a series record of either encoding
// (recordType recSeries) to dst.
func decodeSeries(rec []byte, dst []seriesRecord, b *labels.ScratchBuilder) ([]seriesRecord, error) {
	if len(rec) > 0 && rec[0] == recSeriesPacked {
		return decodePackedSeries(rec, dst, b)
	}
	d := decoder{b: rec[1:]}
	n := d.count(2)
	for i := 0; i < n && d.err == nil; i++ {
		ref := model.SeriesRef(d.uvarint())
		dst = append(dst, seriesRecord{Ref: ref, Labels: d.labels(b)})
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("series record: %w", err)
	}
	return dst, nil
}

// decodeSamples appends the samples of a samples record of either
// encoding (recordType recSamples) to dst.
func decodeSamples(rec []byte, dst []sampleRecord) ([]sampleRecord, error) {
	if len(rec) > 0 && rec[0] == recSamplesPacked {
		return decodePackedSamples(rec, dst)
	}
	d := decoder{b: rec[1:]}
	n := d.count(10)
	if n == 0 {
		return dst, d.end()
	}
	baseRef := int64(d.uvarint())
	baseT := d.varint()
	for i := 0; i < n && d.err == nil; i++ {
		ref := baseRef + d.varint()
		t := baseT + d.varint()
		v := d.float()
		dst = append(dst, sampleRecord{Ref: model.SeriesRef(ref), T: t, V: v})
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("samples record: %w", err)
	}
	return dst, nil
}

// decodeChunkRecord appends the chunks of a chunks record to dst. Data
// slices point into rec.
func decodeChunkRecord(rec []byte, dst []chunkRecord) ([]chunkRecord, error) {
	d := decoder{b: rec[1:]}
	n := d.count(4)
	for i := 0; i < n && d.err == nil; i++ {
		c := chunkRecord{Ref: model.SeriesRef(d.uvarint())}
		c.MinT = d.varint()
		c.MaxT = d.varint()
		c.Data = d.bytes()
		dst = append(dst, c)
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("chunks record: %w", err)
	}
	return dst, nil
}

// decodeMetadata appends the entries of a metadata record to dst.
func decodeMetadata(rec []byte, dst []metadataRecord) ([]metadataRecord, error) {
	d := decoder{b: rec[1:]}
	n := d.count(4)
	for i := 0; i < n && d.err == nil; i++ {
		var m metadataRecord
		m.Family = d.str()
		m.Meta.Type = d.str()
		m.Meta.Unit = d.str()
		m.Meta.Help = d.str()
		dst = append(dst, m)
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("metadata record: %w", err)
	}
	return dst, nil
}

// decodeExemplars appends the exemplars of an exemplars record to dst.
func decodeExemplars(rec []byte, dst []exemplarRecord, b *labels.ScratchBuilder) ([]exemplarRecord, error) {
	d := decoder{b: rec[1:]}
	n := d.count(11)
	for i := 0; i < n && d.err == nil; i++ {
		var e exemplarRecord
		e.Ref = model.SeriesRef(d.uvarint())
		e.E.T = d.varint()
		e.E.V = d.float()
		e.E.Labels = d.labels(b)
		dst = append(dst, e)
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("exemplars record: %w", err)
	}
	return dst, nil
}
