package remote

import (
	"fmt"
)

// Field numbers of io.prometheus.write.v2.Request and its messages.
const (
	rw2ReqSymbols    = 4
	rw2ReqTimeseries = 5

	rw2TSLabelsRefs = 1
	rw2TSSamples    = 2
	rw2TSHistograms = 3
	rw2TSExemplars  = 4
	rw2TSMetadata   = 5

	rw2SampleValue     = 1
	rw2SampleTimestamp = 2
	rw2SampleStart     = 3

	rw2ExLabelsRefs = 1
	rw2ExValue      = 2
	rw2ExTimestamp  = 3

	rw2MetaType    = 1
	rw2MetaHelpRef = 3
	rw2MetaUnitRef = 4
)

// rw2Scratch is the memory decodeRW2 reuses from request to request.
type rw2Scratch struct {
	symbols []string // the request's symbol table; strings alias the body
	bodies  [][]byte // the series messages, decoded once symbols are known
	refs    []uint32 // one series' label references
	exRefs  []uint32 // one exemplar's label references
}

// decodeRW2 parses buf, a serialized io.prometheus.write.v2.Request, into
// r, the way fromRW2 fills it from the generated decoder's result: it
// accepts exactly the inputs writev2.Request.Unmarshal accepts
// (FuzzRW2Decode checks both), and it allocates nothing once r's slices
// have grown, except for native histograms. Symbols and label strings
// alias buf until the next reset. A series with a symbol reference out of
// range is kept with badSymbol set; checkRW2Batch then applies the rules
// of the symbol table.
//
// The symbol table may follow the series in the message, so the series
// are decoded in a second pass over the bodies the first one found.
func (r *writeBatch) decodeRW2(buf []byte) error {
	r.reset()
	r.rw2 = true
	sc := &r.rw2s
	sc.symbols, sc.bodies = sc.symbols[:0], sc.bodies[:0]
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return err
		}
		switch field {
		case rw2ReqSymbols:
			if err := expect(field, wire, wireBytes); err != nil {
				return err
			}
			sym, err := p.str()
			if err != nil {
				return err
			}
			sc.symbols = append(sc.symbols, sym)
		case rw2ReqTimeseries:
			if err := expect(field, wire, wireBytes); err != nil {
				return err
			}
			msg, err := p.bytes()
			if err != nil {
				return err
			}
			sc.bodies = append(sc.bodies, msg)
		default:
			if err := p.skip(wire); err != nil {
				return err
			}
		}
	}
	for i, msg := range sc.bodies {
		if err := r.decodeSeriesV2(msg); err != nil {
			return fmt.Errorf("series %d: %w", i, err)
		}
	}
	clear(sc.bodies) // do not pin the body through the pool
	return nil
}

// checkRW2Batch is checkRW2 for a batch decodeRW2 filled from a body of
// size bytes.
func (r *writeBatch) checkRW2Batch(size int) error {
	syms := r.rw2s.symbols
	if len(syms) > 0 && syms[0] != "" {
		return fmt.Errorf("symbols[0] must be the empty string, got %q", truncateMessage(syms[0], maxMessageValue))
	}
	if size > 0 && len(syms) == 0 && len(r.series) == 0 {
		return fmt.Errorf("body of %d bytes holds no field of %s; a %s is sent with Content-Type application/x-protobuf;proto=%s",
			size, protoV2, protoV1, protoV1)
	}
	return nil
}

// decodeSeriesV2 parses one io.prometheus.write.v2.TimeSeries.
func (r *writeBatch) decodeSeriesV2(buf []byte) error {
	sc := &r.rw2s
	s := seriesRef{samplesFrom: len(r.samples), exemplarsFrom: len(r.exemplars), histsFrom: len(r.hists)}
	refs := sc.refs[:0]
	var meta rw2Meta
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return err
		}
		switch {
		case field == rw2TSLabelsRefs:
			if refs, err = p.uint32s(refs, field, wire); err != nil {
				return err
			}
		case field >= rw2TSSamples && field <= rw2TSMetadata:
			if err := expect(field, wire, wireBytes); err != nil {
				return err
			}
			msg, err := p.bytes()
			if err != nil {
				return err
			}
			if err := r.decodeSeriesFieldV2(&s, &meta, field, msg); err != nil {
				return err
			}
		case field == rw2CreatedTimestampField && wire == wireVarint:
			// An unknown field to the generated code, whose value fromRW2
			// reads from the unknown bytes: the last one wins.
			v, err := p.varint()
			if err != nil {
				return err
			}
			s.ct = int64(v)
		default:
			if err := p.skip(wire); err != nil {
				return err
			}
		}
	}
	sc.refs = refs
	s.labelsFrom = len(r.labels)
	s.badSymbol = !r.appendRefs(&r.labels, sc.symbols, refs) || s.badSymbol
	s.labelsTo, s.samplesTo, s.exemplarsTo = len(r.labels), len(r.samples), len(r.exemplars)
	help, okH := symbol(sc.symbols, meta.help)
	unit, okU := symbol(sc.symbols, meta.unit)
	if !okH || !okU {
		s.badSymbol = true
	}
	s.meta = metadataRef{typ: meta.typ, help: help, unit: unit}
	s.hasMeta = meta.typ != 0 || help != "" || unit != ""
	r.series = append(r.series, s)
	return nil
}

// rw2Meta is a series' metadata as the wire holds it.
type rw2Meta struct {
	typ        int32
	help, unit uint32
}

// decodeSeriesFieldV2 decodes one length-delimited field of a series.
func (r *writeBatch) decodeSeriesFieldV2(s *seriesRef, meta *rw2Meta, field int32, msg []byte) error {
	switch field {
	case rw2TSSamples:
		smp, err := decodeSampleV2(msg)
		if err != nil {
			return err
		}
		r.samples = append(r.samples, smp)
	case rw2TSHistograms:
		h := &r.histogramV2
		h.Reset()
		if err := h.Unmarshal(msg); err != nil {
			return err
		}
		hr := histRef{t: h.Timestamp}
		if h.IsFloatHistogram() {
			hr.fh = h.ToFloatHistogram()
		} else {
			hr.h = h.ToIntHistogram()
		}
		r.hists = append(r.hists, hr)
		s.histograms++
	case rw2TSExemplars:
		ok, err := r.decodeExemplarV2(msg)
		if err != nil {
			return err
		}
		s.badSymbol = s.badSymbol || !ok
	case rw2TSMetadata:
		// The generated code merges repeated occurrences into one message:
		// each field read overwrites, the others stay.
		return decodeMetadataV2(msg, meta)
	}
	return nil
}

// decodeSampleV2 parses one io.prometheus.write.v2.Sample.
func decodeSampleV2(buf []byte) (sampleRef, error) {
	var s sampleRef
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return s, err
		}
		switch field {
		case rw2SampleValue:
			if err := expect(field, wire, wireFixed64); err != nil {
				return s, err
			}
			if s.v, err = p.double(); err != nil {
				return s, err
			}
		case rw2SampleTimestamp, rw2SampleStart:
			if err := expect(field, wire, wireVarint); err != nil {
				return s, err
			}
			v, err := p.varint()
			if err != nil {
				return s, err
			}
			if field == rw2SampleTimestamp {
				s.t = int64(v)
			} else {
				s.st = int64(v)
			}
		default:
			if err := p.skip(wire); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// decodeExemplarV2 parses one io.prometheus.write.v2.Exemplar and appends
// it to r. ok is false when a label reference is out of range.
func (r *writeBatch) decodeExemplarV2(buf []byte) (ok bool, err error) {
	sc := &r.rw2s
	e := exemplarRef{}
	refs := sc.exRefs[:0]
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return false, err
		}
		switch field {
		case rw2ExLabelsRefs:
			if refs, err = p.uint32s(refs, field, wire); err != nil {
				return false, err
			}
		case rw2ExValue:
			if err := expect(field, wire, wireFixed64); err != nil {
				return false, err
			}
			if e.v, err = p.double(); err != nil {
				return false, err
			}
		case rw2ExTimestamp:
			if err := expect(field, wire, wireVarint); err != nil {
				return false, err
			}
			v, err := p.varint()
			if err != nil {
				return false, err
			}
			e.t = int64(v)
		default:
			if err := p.skip(wire); err != nil {
				return false, err
			}
		}
	}
	sc.exRefs = refs
	e.labelsFrom = len(r.exLabels)
	ok = r.appendRefs(&r.exLabels, sc.symbols, refs)
	e.labelsTo = len(r.exLabels)
	r.exemplars = append(r.exemplars, e)
	return ok, nil
}

// decodeMetadataV2 parses one io.prometheus.write.v2.Metadata into m,
// overwriting the fields it holds.
func decodeMetadataV2(buf []byte, m *rw2Meta) error {
	p := protoReader{buf: buf}
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return err
		}
		switch field {
		case rw2MetaType, rw2MetaHelpRef, rw2MetaUnitRef:
			if err := expect(field, wire, wireVarint); err != nil {
				return err
			}
			v, err := p.varint()
			if err != nil {
				return err
			}
			switch field {
			case rw2MetaType:
				m.typ = int32(v)
			case rw2MetaHelpRef:
				m.help = uint32(v)
			default:
				m.unit = uint32(v)
			}
		default:
			if err := p.skip(wire); err != nil {
				return err
			}
		}
	}
	return nil
}
