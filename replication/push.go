package replication

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golang/snappy"
	commonmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// PushPath is the internal endpoint of every node that appends a remote
// write 2.0 request to its own store only.
const PushPath = "/internal/v1/push"

// refusalPrefix starts the answer of a remote-write handler that refused
// samples for client reasons ("series {...}: reason"), as opposed to a
// request it could not read.
var refusalPrefix = []byte("series ")

// maxAnswer bounds how much of a replica's error answer is read.
const maxAnswer = 4 << 10

// encoder holds the buffers of one push; pooled across pushes.
type encoder struct {
	syms  writev2.SymbolsTable
	req   writev2.Request
	raw   []byte
	comp  []byte
	lrefs []uint32
}

var encoders = sync.Pool{New: func() any { return &encoder{syms: writev2.NewSymbolTable()} }}

// encode renders the series of b as one snappy-compressed remote write 2.0
// request into e.comp. Metadata of the write is attached to the series of
// its family's name. The series, their label references and their samples
// reuse the slices of the encoder's previous requests.
func (e *encoder) encode(a *appender, b *batch) ([]byte, error) {
	e.syms.Reset()
	ts := e.req.Timeseries
	if cap(ts) < len(b.series) {
		ts = make([]writev2.TimeSeries, len(b.series))
	}
	ts = ts[:len(b.series)]
	for k, i := range b.series {
		s := &a.list[i]
		series := &ts[k]
		series.LabelsRefs = e.syms.SymbolizeLabels(s.lset, series.LabelsRefs[:0])
		smps := series.Samples[:0]
		for _, smp := range s.samples {
			smps = append(smps, writev2.Sample{Timestamp: smp.t, Value: smp.v})
		}
		series.Samples = smps
		series.Histograms = series.Histograms[:0]
		for _, hs := range s.hists {
			if hs.fh != nil {
				series.Histograms = append(series.Histograms, writev2.FromFloatHistogram(0, hs.t, hs.fh))
			} else {
				series.Histograms = append(series.Histograms, writev2.FromIntHistogram(0, hs.t, hs.h))
			}
		}
		series.Exemplars = series.Exemplars[:0]
		for _, ex := range s.exemplars {
			series.Exemplars = append(series.Exemplars, writev2.Exemplar{
				LabelsRefs: e.syms.SymbolizeLabels(ex.Labels, nil), Value: ex.V, Timestamp: ex.T,
			})
		}
		series.Metadata = writev2.Metadata{}
		if m, ok := a.metadata[s.lset.Get(labels.MetricName)]; ok {
			series.Metadata = writev2.Metadata{
				Type:    writev2.FromMetadataType(commonmodel.MetricType(m.Type)),
				HelpRef: e.syms.Symbolize(m.Help),
				UnitRef: e.syms.Symbolize(m.Unit),
			}
		}
	}
	e.req.Timeseries = ts
	e.req.Symbols = e.syms.Symbols()
	size := e.req.Size()
	if cap(e.raw) < size {
		e.raw = make([]byte, size)
	}
	n, err := e.req.MarshalToSizedBuffer(e.raw[:size])
	if err != nil {
		return nil, fmt.Errorf("encode push: %w", err)
	}
	e.comp = snappy.Encode(e.comp[:cap(e.comp)], e.raw[size-n:size])
	return e.comp, nil
}

// body is the encoded request of one or more batches that carry the same
// series: with nodes <= RF every peer gets every series, and the request
// is encoded once for all of them. The first push that needs it encodes
// it; the last one done returns the encoder to the pool.
type body struct {
	once  sync.Once
	enc   *encoder
	data  []byte
	err   error
	users atomic.Int32
}

// bodies gives each batch of a to be pushed its body, shared by the
// batches whose series are the same.
func bodies(a *appender, pushed []*batch) []*body {
	out := make([]*body, len(pushed))
	for i, b := range pushed {
		for j := range i {
			if slices.Equal(pushed[j].series, b.series) {
				out[i] = out[j]
				break
			}
		}
		if out[i] == nil {
			out[i] = &body{}
		}
		out[i].users.Add(1)
	}
	return out
}

// get returns the encoded request of b, encoding it on first use.
func (y *body) get(a *appender, b *batch) ([]byte, error) {
	y.once.Do(func() {
		y.enc = encoders.Get().(*encoder)
		y.data, y.err = y.enc.encode(a, b)
	})
	return y.data, y.err
}

// release ends one push's use of the body.
func (y *body) release() {
	if y.users.Add(-1) == 0 && y.enc != nil {
		encoders.Put(y.enc)
	}
}

// push sends batch b of a, encoded as y, to its replica and reports how
// it answered: a 2xx stored it, a 400 naming a refused series stored all
// but the samples it refused, anything else — 5xx, 429, another 4xx, no
// answer within the timeout — failed.
func (d *Distributor) push(a *appender, b *batch, y *body) outcome {
	res := outcome{replica: b.to.ID, series: b.series}
	defer y.release()
	data, err := y.get(a, b)
	if err != nil {
		res.err = err
		return res
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.Timeout)
	defer cancel()
	url := d.opts.Scheme + "://" + b.to.Addr + PushPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		res.err = fmt.Errorf("push to %s: %w", b.to.ID, err)
		return res
	}
	req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	req.Header.Set("User-Agent", "gorilla-remote-replication")
	if d.opts.Tenancy {
		req.Header.Set(tenant.Header, a.tenant)
	}
	d.metrics.pushes.WithLabelValues(b.to.ID).Inc()
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		d.metrics.pushFailures.WithLabelValues(b.to.ID).Inc()
		res.err = fmt.Errorf("push to %s at %s: %w", b.to.ID, b.to.Addr, err)
		return res
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	switch code := resp.StatusCode; {
	case code/100 == 2:
		res.stored = true
	case code == http.StatusBadRequest && bytes.HasPrefix(msg, refusalPrefix):
		// The replica refused samples as invalid and stored the rest.
		// Any other 4xx (a request it could not decode) is a failure: the
		// write must not be acknowledged on the strength of it.
		res.stored = true
		res.rejected = fmt.Sprintf("replica %s: %s", b.to.ID, strings.TrimSpace(string(msg)))
	default:
		d.metrics.pushFailures.WithLabelValues(b.to.ID).Inc()
		res.err = fmt.Errorf("push to %s: HTTP %d: %s", b.to.ID, code, strings.TrimSpace(string(msg)))
	}
	return res
}
