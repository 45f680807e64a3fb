package head

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Record types of the head's WAL records. They are part of the on-disk
// format (docs/format/wal-records.md): never renumber them.
const (
	recSeries    byte = 1
	recSamples   byte = 2
	recChunks    byte = 3
	recMetadata  byte = 4
	recExemplars byte = 5
	// recSamplesPacked replaces recSamples in what the head writes:
	// deltas from the sample before and values in their shortest exact
	// form (record_samples.go). Records of type recSamples still replay.
	recSamplesPacked byte = 9
	// recSeriesPacked replaces recSeries in what the head writes: each
	// label says whether it repeats the series before's (record_series.go).
	// Records of type recSeries still replay.
	recSeriesPacked byte = 10
)

// errRecord is wrapped by every record decoding error.
var errRecord = errors.New("malformed WAL record")

// seriesRecord is one series' ref and labels.
type seriesRecord struct {
	Ref    model.SeriesRef
	Labels labels.Labels
}

// sampleRecord is one sample of one series.
type sampleRecord struct {
	Ref model.SeriesRef
	T   int64
	V   float64
}

// chunkRecord is one encoded chunk of one series (checkpoints only).
type chunkRecord struct {
	Ref        model.SeriesRef
	MinT, MaxT int64
	Data       []byte
}

// metadataRecord is the metadata of one metric family.
type metadataRecord struct {
	Family string
	Meta   model.Metadata
}

// exemplarRecord is one exemplar of one series.
type exemplarRecord struct {
	Ref model.SeriesRef
	E   model.Exemplar
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendLabels(b []byte, lset labels.Labels) []byte {
	b = binary.AppendUvarint(b, uint64(lset.Len()))
	lset.Range(func(l labels.Label) {
		b = appendString(b, l.Name)
		b = appendString(b, l.Value)
	})
	return b
}

// encodeChunks appends a chunks record to b.
func encodeChunkRecord(b []byte, chunks []chunkRecord) []byte {
	b = append(b, recChunks)
	b = binary.AppendUvarint(b, uint64(len(chunks)))
	for _, c := range chunks {
		b = binary.AppendUvarint(b, uint64(c.Ref))
		b = binary.AppendVarint(b, c.MinT)
		b = binary.AppendVarint(b, c.MaxT)
		b = binary.AppendUvarint(b, uint64(len(c.Data)))
		b = append(b, c.Data...)
	}
	return b
}

// encodeMetadata appends a metadata record to b.
func encodeMetadata(b []byte, ms []metadataRecord) []byte {
	b = append(b, recMetadata)
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = appendString(b, m.Family)
		b = appendString(b, m.Meta.Type)
		b = appendString(b, m.Meta.Unit)
		b = appendString(b, m.Meta.Help)
	}
	return b
}

// encodeExemplars appends an exemplars record to b.
func encodeExemplars(b []byte, es []exemplarRecord) []byte {
	b = append(b, recExemplars)
	b = binary.AppendUvarint(b, uint64(len(es)))
	for _, e := range es {
		b = binary.AppendUvarint(b, uint64(e.Ref))
		b = binary.AppendVarint(b, e.E.T)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.E.V))
		b = appendLabels(b, e.E.Labels)
	}
	return b
}

// decoder reads the fields of one record. The first error sticks; later
// reads return zero values, so decoding code checks err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s with %d bytes left", errRecord, what, len(d.b))
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.fail("float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

// count reads a element count and checks that the record could hold that
// many elements of at least min bytes, so a corrupt count cannot make the
// caller allocate without limit.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min+1) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) labels(b *labels.ScratchBuilder) labels.Labels {
	n := d.count(2)
	b.Reset()
	for i := 0; i < n && d.err == nil; i++ {
		// The builder copies the strings into the label set it returns, so
		// they may point into the record buffer until then.
		name := d.bytes()
		value := d.bytes()
		b.Add(unsafe.String(unsafe.SliceData(name), len(name)), unsafe.String(unsafe.SliceData(value), len(value)))
	}
	b.Sort()
	return b.Labels()
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing data")
	}
	return d.err
}
