package remote

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// memSeries is one series of memStore.
type memSeries struct {
	lset      labels.Labels
	samples   []model.Sample
	exemplars []model.Exemplar
	hists     []memHist
}

// memHist is one histogram sample of memSeries.
type memHist struct {
	t  int64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// memStore is a map-based Appendable: one hash-map lookup per new series,
// as a real store does.
type memStore struct {
	mu       sync.Mutex
	series   map[uint64]*memSeries
	byRef    []*memSeries
	metadata map[string]model.Metadata
	// appendErr, when set, decides the error of each Append.
	appendErr func(lset labels.Labels, t int64, v float64) error
	commitErr error
	closed    bool // set by close; writes then fail with model.ErrClosed
}

func newMemStore() *memStore {
	return &memStore{series: map[uint64]*memSeries{}, metadata: map[string]model.Metadata{}}
}

func (s *memStore) Appender() Appender { return &memAppender{s: s} }

// close makes later commits fail with model.ErrClosed.
func (s *memStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// get returns the samples stored for lset.
func (s *memStore) get(lset labels.Labels) []model.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ms := s.series[lset.Hash()]; ms != nil {
		return slices.Clone(ms.samples)
	}
	return nil
}

// numSamples counts every stored sample.
func (s *memStore) numSamples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ms := range s.series {
		n += len(ms.samples)
	}
	return n
}

// lookup finds or creates the series of lset; the caller holds s.mu.
func (s *memStore) lookup(lset labels.Labels) (*memSeries, model.SeriesRef) {
	ms := s.series[lset.Hash()]
	if ms == nil {
		// The handler reuses the label memory: keep a copy, as the head does.
		ms = &memSeries{lset: lset.Copy()}
		s.series[lset.Hash()] = ms
		s.byRef = append(s.byRef, ms)
	}
	for i, r := range s.byRef {
		if r == ms {
			return ms, model.SeriesRef(i + 1)
		}
	}
	panic("BUG: series without ref")
}

type pending struct {
	ms *memSeries
	s  model.Sample
	e  *model.Exemplar
	h  *memHist
}

type memAppender struct {
	s    *memStore
	refs map[model.SeriesRef]*memSeries
	buf  []pending
	meta map[string]model.Metadata
}

func (a *memAppender) series(ref model.SeriesRef, lset labels.Labels) (*memSeries, model.SeriesRef) {
	if ms := a.refs[ref]; ref != 0 && ms != nil {
		return ms, ref
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	ms, ref := a.s.lookup(lset)
	if a.refs == nil {
		a.refs = map[model.SeriesRef]*memSeries{}
	}
	a.refs[ref] = ms
	return ms, ref
}

func (a *memAppender) Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	if err := model.CheckTime(t); err != nil {
		return ref, err
	}
	if lset.IsEmpty() {
		return 0, model.ErrInvalidLabels
	}
	if a.s.appendErr != nil {
		if err := a.s.appendErr(lset, t, v); err != nil {
			return ref, err
		}
	}
	ms, ref := a.series(ref, lset)
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	for _, smp := range ms.samples {
		if smp.T == t && !model.SameValue(smp.V, v) {
			return ref, model.ErrDuplicateSample
		}
	}
	a.buf = append(a.buf, pending{ms: ms, s: model.Sample{T: t, V: v}})
	return ref, nil
}

func (a *memAppender) AppendHistogram(ref model.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (model.SeriesRef, error) {
	if err := model.CheckTime(t); err != nil {
		return ref, err
	}
	if lset.IsEmpty() {
		return 0, model.ErrInvalidLabels
	}
	ms, ref := a.series(ref, lset)
	a.buf = append(a.buf, pending{ms: ms, h: &memHist{t: t, h: h, fh: fh}})
	return ref, nil
}

// getHists returns the histograms stored for lset.
func (s *memStore) getHists(lset labels.Labels) []memHist {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ms := s.series[lset.Hash()]; ms != nil {
		return slices.Clone(ms.hists)
	}
	return nil
}

func (a *memAppender) AppendExemplar(ref model.SeriesRef, lset labels.Labels, e model.Exemplar) (model.SeriesRef, error) {
	ms, ref := a.series(ref, lset)
	a.buf = append(a.buf, pending{ms: ms, e: &e})
	return ref, nil
}

func (a *memAppender) UpdateMetadata(family string, m model.Metadata) error {
	if a.meta == nil {
		a.meta = map[string]model.Metadata{}
	}
	a.meta[family] = m
	return nil
}

func (a *memAppender) Commit() error {
	if a.s.commitErr != nil {
		return a.s.commitErr
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.s.closed {
		return model.ErrClosed
	}
	for _, p := range a.buf {
		if p.e != nil {
			p.ms.exemplars = append(p.ms.exemplars, *p.e)
			continue
		}
		if p.h != nil {
			p.ms.hists = append(p.ms.hists, *p.h)
			continue
		}
		dup := false
		for _, smp := range p.ms.samples {
			dup = dup || (smp.T == p.s.T && model.SameValue(smp.V, p.s.V))
		}
		if !dup {
			p.ms.samples = append(p.ms.samples, p.s)
		}
	}
	for k, v := range a.meta {
		a.s.metadata[k] = v
	}
	return nil
}

func (a *memAppender) Rollback() error { a.buf = nil; return nil }

// errString is a store error that is not one of the head's.
var errString = errors.New("disk on fire")

// encodeRW1 marshals and compresses req.
func encodeRW1(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	b, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

// encodeRW2 marshals and compresses req.
func encodeRW2(t testing.TB, req *writev2.Request) []byte {
	t.Helper()
	b, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

// post sends body to h with the given headers (pairs of name, value).
func post(h http.Handler, body []byte, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	r.Header.Set("Content-Encoding", "snappy")
	r.Header.Set("Content-Type", "application/x-protobuf")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// v2Header is the Content-Type of remote write 2.0.
var v2Header = []string{"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"}

// lbls builds prompb labels from name/value pairs.
func lbls(kv ...string) []prompb.Label {
	out := make([]prompb.Label, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// series1 is a one-series request with the given labels and samples.
func series1(ls []prompb.Label, samples ...prompb.Sample) *prompb.WriteRequest {
	return &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: ls, Samples: samples}}}
}

// newHandler builds a write handler over s with opts.
func newHandler(t testing.TB, s Appendable, opts WriteOptions) http.Handler {
	t.Helper()
	h, err := NewWriteHandler(s, opts)
	require.NoError(t, err)
	return h
}

// staleNaN is the stale marker as a float.
var staleNaN = math.Float64frombits(model.StaleNaN)
