package remote

import (
	"fmt"

	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// rw2CreatedTimestampField is the field number of created_timestamp in
// io.prometheus.write.v2.TimeSeries as remote write 2.0 specifies it. The
// generated types of our Prometheus version reserve the number (they moved
// to a start timestamp per sample), so the value is read from the unknown
// fields; both forms are honoured.
const rw2CreatedTimestampField = 6

// reasonNoSamples refuses a remote-write 2.0 series with neither samples
// nor histograms (only metadata or exemplars), as Prometheus does.
const reasonNoSamples = "no_samples"

// checkRW2 refuses a decoded remote-write 2.0 request that the spec
// forbids or that cannot be what the sender meant; size is the length of
// the decoded body.
//
// The spec makes "" the first symbol, so that reference 0 means the empty
// string. A body that is not empty yet holds neither symbols nor series
// is a message of another type (the fields of a prometheus.WriteRequest
// are reserved numbers here, so gogo skips them): answering 204 would
// make the sender drop data that was never stored.
func checkRW2(req *writev2.Request, size int) error {
	if len(req.Symbols) > 0 && req.Symbols[0] != "" {
		return fmt.Errorf("symbols[0] must be the empty string, got %q", truncateMessage(req.Symbols[0], maxMessageValue))
	}
	if size > 0 && len(req.Symbols) == 0 && len(req.Timeseries) == 0 {
		return fmt.Errorf("body of %d bytes holds no field of %s; a %s is sent with Content-Type application/x-protobuf;proto=%s",
			size, protoV2, protoV1, protoV1)
	}
	return nil
}

// fromRW2 fills r from a remote-write 2.0 request the generated code
// decoded. Strings alias the request's symbols, histograms its memory. A
// series with a symbol reference out of range is kept with badSymbol set
// so that its samples are counted as rejected. It is the reference that
// the hand-written decodeRW2, which the write path uses, is fuzzed against
// (FuzzRW2Decode).
func (r *writeBatch) fromRW2(req *writev2.Request) {
	r.reset()
	r.rw2 = true
	syms := req.Symbols
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s := seriesRef{labelsFrom: len(r.labels), samplesFrom: len(r.samples), exemplarsFrom: len(r.exemplars)}
		s.badSymbol = !r.appendRefs(&r.labels, syms, ts.LabelsRefs)
		s.labelsTo = len(r.labels)
		for _, smp := range ts.Samples {
			r.samples = append(r.samples, sampleRef{t: smp.Timestamp, st: smp.StartTimestamp, v: smp.Value})
		}
		s.samplesTo = len(r.samples)
		for _, e := range ts.Exemplars {
			ex := exemplarRef{labelsFrom: len(r.exLabels), t: e.Timestamp, v: e.Value}
			if !r.appendRefs(&r.exLabels, syms, e.LabelsRefs) {
				s.badSymbol = true
			}
			ex.labelsTo = len(r.exLabels)
			r.exemplars = append(r.exemplars, ex)
		}
		s.exemplarsTo = len(r.exemplars)
		s.histsFrom, s.histograms = len(r.hists), len(ts.Histograms)
		for j := range ts.Histograms {
			hp := &ts.Histograms[j]
			// Converted as is, as decodeRW2 does: a copy would drop the
			// custom bounds of an exponential schema, which validation
			// refuses.
			hr := histRef{t: hp.Timestamp}
			if hp.IsFloatHistogram() {
				hr.fh = hp.ToFloatHistogram()
			} else {
				hr.h = hp.ToIntHistogram()
			}
			r.hists = append(r.hists, hr)
		}
		s.ct = createdTimestamp(ts.XXX_unrecognized)
		help, okH := symbol(syms, ts.Metadata.HelpRef)
		unit, okU := symbol(syms, ts.Metadata.UnitRef)
		if !okH || !okU {
			s.badSymbol = true
		}
		s.meta = metadataRef{typ: int32(ts.Metadata.Type), help: help, unit: unit}
		s.hasMeta = ts.Metadata.Type != writev2.Metadata_METRIC_TYPE_UNSPECIFIED || help != "" || unit != ""
		r.series = append(r.series, s)
	}
}

// appendRefs resolves name/value symbol pairs into *dst. It reports false
// when the list has odd length or a reference is out of range.
func (r *writeBatch) appendRefs(dst *[]labelRef, syms []string, refs []uint32) bool {
	ok := len(refs)%2 == 0
	for i := 0; i+1 < len(refs); i += 2 {
		name, okN := symbol(syms, refs[i])
		value, okV := symbol(syms, refs[i+1])
		if !okN || !okV {
			ok = false
			continue
		}
		*dst = append(*dst, labelRef{name: name, value: value})
	}
	return ok
}

// symbol returns syms[ref]. Reference 0 is the empty string, also when
// the table is empty; checkRW2 has refused a table starting otherwise.
func symbol(syms []string, ref uint32) (string, bool) {
	if ref == 0 {
		return "", true
	}
	if int(ref) >= len(syms) {
		return "", false
	}
	return syms[ref], true
}

// createdTimestamp finds the created_timestamp field among a series' unknown
// fields. It returns 0 when the field is absent or unreadable: the value is
// a hint, never worth refusing a request.
func createdTimestamp(unknown []byte) int64 {
	p := protoReader{buf: unknown}
	var ct int64
	for !p.done() {
		field, wire, err := p.tag()
		if err != nil {
			return 0
		}
		if field == rw2CreatedTimestampField && wire == wireVarint {
			v, err := p.varint()
			if err != nil {
				return 0
			}
			ct = int64(v)
			continue
		}
		if err := p.skip(wire); err != nil {
			return 0
		}
	}
	return ct
}
