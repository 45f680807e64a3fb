package remote

import (
	"fmt"
	"unsafe"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Field numbers of prometheus.WriteRequest and its messages (prompb).
const (
	rw1ReqTimeseries = 1
	rw1ReqMetadata   = 3

	rw1TSLabels     = 1
	rw1TSSamples    = 2
	rw1TSExemplars  = 3
	rw1TSHistograms = 4

	rw1LabelName  = 1
	rw1LabelValue = 2

	rw1SampleValue     = 1
	rw1SampleTimestamp = 2

	rw1ExLabels    = 1
	rw1ExValue     = 2
	rw1ExTimestamp = 3

	rw1MetaType   = 1
	rw1MetaFamily = 2
	rw1MetaHelp   = 4
	rw1MetaUnit   = 5
)

// labelRef is one label whose strings alias the decoded request body.
type labelRef struct{ name, value string }

// sampleRef is one float sample. st is its start (created) timestamp, sent
// only by remote write 2.0; 0 means unknown.
type sampleRef struct {
	t, st int64
	v     float64
}

// exemplarRef is one exemplar; its labels are exLabels[labelsFrom:labelsTo].
type exemplarRef struct {
	labelsFrom, labelsTo int
	t                    int64
	v                    float64
}

// histRef is one native histogram sample: exactly one of h and fh is set.
// It is decoded into fresh memory (not aliasing the body), since the store
// keeps it.
type histRef struct {
	t  int64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// seriesRef is one decoded series: ranges into the request's flat slices.
type seriesRef struct {
	labelsFrom, labelsTo       int
	samplesFrom, samplesTo     int
	exemplarsFrom, exemplarsTo int
	// The series' histograms are hists[histsFrom : histsFrom+histograms].
	histsFrom, histograms int
	// Remote write 2.0 only: the series' created timestamp (0 = unknown),
	// its metadata, and whether a symbol reference was out of range.
	ct        int64
	meta      metadataRef
	hasMeta   bool
	badSymbol bool
	// refused, if set, is the reason every sample of the series is
	// refused, decided while an OTLP request was converted.
	refused string
}

// metadataRef is one metadata entry; its strings alias the body.
type metadataRef struct {
	typ                int32
	family, help, unit string
}

// writeBatch is a decoded write request of either protocol version. A
// prometheus.WriteRequest is decoded into it without copying: every string
// aliases the decompressed body. The flat slices are reused from request to
// request, so decoding allocates nothing once they have grown.
type writeBatch struct {
	rw2       bool // the batch came from a remote-write 2.0 request
	series    []seriesRef
	labels    []labelRef
	samples   []sampleRef
	exemplars []exemplarRef
	exLabels  []labelRef
	metadata  []metadataRef
	hists     []histRef

	// histogram and histogramV2 are scratch space histogram messages are
	// decoded into, with the generated code, before conversion into hists.
	histogram   prompb.Histogram
	histogramV2 writev2.Histogram
	rw2s        rw2Scratch // the remote write 2.0 decoder's
}

// reset empties r, keeping the capacity of its slices.
func (r *writeBatch) reset() {
	r.rw2 = false
	r.series = r.series[:0]
	r.labels = r.labels[:0]
	r.samples = r.samples[:0]
	r.exemplars = r.exemplars[:0]
	r.exLabels = r.exLabels[:0]
	r.metadata = r.metadata[:0]
	clear(r.hists) // the store owns the histograms: drop our pointers
	r.hists = r.hists[:0]
}

// decodeRW1 parses buf, a serialized prometheus.WriteRequest, into r. It accepts
// exactly the inputs prompb.WriteRequest.Unmarshal accepts. The strings in r
// alias buf until the next reset.
func (r *writeBatch) decodeRW1(buf []byte) error {
	r.reset()
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return err
		}
		switch field {
		case rw1ReqTimeseries, rw1ReqMetadata:
			if err := expect(field, wire, wireBytes); err != nil {
				return err
			}
			msg, err := p.bytes()
			if err != nil {
				return err
			}
			if field == rw1ReqTimeseries {
				err = r.decodeSeries(msg)
			} else {
				err = r.decodeMetadata(msg)
			}
			if err != nil {
				return fmt.Errorf("message %d at offset %d: %w", field, p.i-len(msg), err)
			}
		default:
			if err := p.skip(wire); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRW1 refuses a decoded body of size bytes that is not empty yet
// held no field of a prometheus.WriteRequest: most likely a remote-write
// 2.0 message sent without its proto parameter. gogo skips the unknown
// fields, so 204 would tell the sender that data it never sent us in a
// form we read was stored.
func (r *writeBatch) checkRW1(size int) error {
	if size > 0 && len(r.series) == 0 && len(r.metadata) == 0 {
		return fmt.Errorf("body of %d bytes holds no field of %s; a %s is sent with Content-Type application/x-protobuf;proto=%s",
			size, protoV1, protoV2, protoV2)
	}
	return nil
}

// decodeSeries parses one prometheus.TimeSeries.
func (r *writeBatch) decodeSeries(buf []byte) error {
	// Each kind goes to its own flat slice, and only this series appends to
	// them while it is decoded, so its labels, samples and exemplars are
	// contiguous ranges even when the sender interleaves the fields.
	s := seriesRef{labelsFrom: len(r.labels), samplesFrom: len(r.samples), exemplarsFrom: len(r.exemplars), histsFrom: len(r.hists)}
	p := protoReader{buf: buf}
	for !p.done() {
		if l, ok := p.shortLabel(); ok {
			r.labels = append(r.labels, l)
			continue
		}
		field, wire, err := p.tag()
		if err != nil {
			return err
		}
		if field < rw1TSLabels || field > rw1TSHistograms {
			if err := p.skip(wire); err != nil {
				return err
			}
			continue
		}
		if err := expect(field, wire, wireBytes); err != nil {
			return err
		}
		msg, err := p.bytes()
		if err != nil {
			return err
		}
		if err := r.decodeSeriesField(&s, field, msg); err != nil {
			return err
		}
	}
	s.labelsTo, s.samplesTo, s.exemplarsTo = len(r.labels), len(r.samples), len(r.exemplars)
	r.series = append(r.series, s)
	return nil
}

// decodeSeriesField decodes one length-delimited field of a series.
func (r *writeBatch) decodeSeriesField(s *seriesRef, field int32, msg []byte) error {
	switch field {
	case rw1TSLabels:
		l, err := decodeLabel(msg)
		if err != nil {
			return err
		}
		r.labels = append(r.labels, l)
	case rw1TSHistograms:
		r.histogram.Reset()
		if err := r.histogram.Unmarshal(msg); err != nil {
			return err
		}
		hr := histRef{t: r.histogram.Timestamp}
		if r.histogram.IsFloatHistogram() {
			hr.fh = r.histogram.ToFloatHistogram()
		} else {
			hr.h = r.histogram.ToIntHistogram()
		}
		r.hists = append(r.hists, hr)
		s.histograms++
	case rw1TSSamples:
		smp, err := decodeSample(msg)
		if err != nil {
			return err
		}
		r.samples = append(r.samples, smp)
	case rw1TSExemplars:
		return r.decodeExemplar(msg)
	}
	return nil
}

// Wire bytes of the short form of a label field (see shortLabel).
const (
	tagTSLabels   = rw1TSLabels<<3 | wireBytes
	tagLabelName  = rw1LabelName<<3 | wireBytes
	tagLabelValue = rw1LabelValue<<3 | wireBytes
)

// shortLabel reads the label field at p in the form every sender writes
// when the label's strings are below 128 bytes: tag, length, name tag,
// name length, name, value tag, value length, value, each tag and length
// one byte. It reports false, reading nothing, for any other form, which
// the general decoder then reads: the result is the same either way.
func (p *protoReader) shortLabel() (labelRef, bool) {
	b := p.buf[p.i:]
	if len(b) < 6 || b[0] != tagTSLabels || b[1] >= 0x80 || b[2] != tagLabelName || b[3] >= 0x80 {
		return labelRef{}, false
	}
	n, ln := int(b[1]), int(b[3])
	if 2+n > len(b) || 4+ln+2 > 2+n || b[4+ln] != tagLabelValue {
		return labelRef{}, false
	}
	lv := int(b[5+ln])
	if lv >= 0x80 || 6+ln+lv != 2+n {
		return labelRef{}, false
	}
	var l labelRef
	if ln > 0 {
		l.name = unsafe.String(&b[4], ln)
	}
	if lv > 0 {
		l.value = unsafe.String(&b[6+ln], lv)
	}
	p.i += 2 + n
	return l, true
}

// decodeLabel parses one prometheus.Label.
func decodeLabel(buf []byte) (labelRef, error) {
	var l labelRef
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return l, err
		}
		switch field {
		case rw1LabelName, rw1LabelValue:
			if err := expect(field, wire, wireBytes); err != nil {
				return l, err
			}
			s, err := p.str()
			if err != nil {
				return l, err
			}
			if field == rw1LabelName {
				l.name = s
			} else {
				l.value = s
			}
		default:
			if err := p.skip(wire); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}

// decodeSample parses one prometheus.Sample.
func decodeSample(buf []byte) (sampleRef, error) {
	var s sampleRef
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return s, err
		}
		switch field {
		case rw1SampleValue:
			if err := expect(field, wire, wireFixed64); err != nil {
				return s, err
			}
			if s.v, err = p.double(); err != nil {
				return s, err
			}
		case rw1SampleTimestamp:
			if err := expect(field, wire, wireVarint); err != nil {
				return s, err
			}
			v, err := p.varint()
			if err != nil {
				return s, err
			}
			s.t = int64(v)
		default:
			if err := p.skip(wire); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// decodeExemplar parses one prometheus.Exemplar and appends it to r.
func (r *writeBatch) decodeExemplar(buf []byte) error {
	e := exemplarRef{labelsFrom: len(r.exLabels)}
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return err
		}
		switch field {
		case rw1ExLabels:
			if err := expect(field, wire, wireBytes); err != nil {
				return err
			}
			msg, err := p.bytes()
			if err != nil {
				return err
			}
			l, err := decodeLabel(msg)
			if err != nil {
				return err
			}
			r.exLabels = append(r.exLabels, l)
		case rw1ExValue:
			if err := expect(field, wire, wireFixed64); err != nil {
				return err
			}
			if e.v, err = p.double(); err != nil {
				return err
			}
		case rw1ExTimestamp:
			if err := expect(field, wire, wireVarint); err != nil {
				return err
			}
			v, err := p.varint()
			if err != nil {
				return err
			}
			e.t = int64(v)
		default:
			if err := p.skip(wire); err != nil {
				return err
			}
		}
	}
	e.labelsTo = len(r.exLabels)
	r.exemplars = append(r.exemplars, e)
	return nil
}

// decodeMetadata parses one prometheus.MetricMetadata.
func (r *writeBatch) decodeMetadata(buf []byte) error {
	var m metadataRef
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return err
		}
		switch field {
		case rw1MetaType:
			if err := expect(field, wire, wireVarint); err != nil {
				return err
			}
			v, err := p.varint()
			if err != nil {
				return err
			}
			m.typ = int32(v)
		case rw1MetaFamily, rw1MetaHelp, rw1MetaUnit:
			if err := expect(field, wire, wireBytes); err != nil {
				return err
			}
			s, err := p.str()
			if err != nil {
				return err
			}
			switch field {
			case rw1MetaFamily:
				m.family = s
			case rw1MetaHelp:
				m.help = s
			default:
				m.unit = s
			}
		default:
			if err := p.skip(wire); err != nil {
				return err
			}
		}
	}
	r.metadata = append(r.metadata, m)
	return nil
}
