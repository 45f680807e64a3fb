package remote

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestWriteErrorBodyIsCapped(t *testing.T) {
	ls := []string{"__name__", "wide"}
	for i := range 10_000 {
		ls = append(ls, fmt.Sprintf("label_%05d", i), strings.Repeat("v", 10))
	}
	h := newHandler(t, newMemStore(), fixedOpts())
	w := post(h, encodeRW1(t, series1(lbls(ls...), prompb.Sample{Timestamp: 1, Value: 1})))
	require.Equal(t, http.StatusBadRequest, w.Code)
	body := w.Body.String()
	if len(body) > maxErrorBody+64 {
		t.Fatalf("error body of %d bytes, want at most about %d", len(body), maxErrorBody)
	}
	require.Contains(t, body, `series {__name__="wide", label_00000="vvvvvvvvvv"`)
	require.Contains(t, body, "more labels}")
	require.Contains(t, body, "10001 labels, more than the limit of 30", "the reason survives the cut")
	require.Contains(t, body, "1 samples rejected in total")
}

func TestFormatLabelsCap(t *testing.T) {
	short := []labelRef{{"__name__", "up"}, {"job", "a"}}
	require.Equal(t, `{__name__="up", job="a"}`, formatLabels(short))

	var many []labelRef
	for i := range 1000 {
		many = append(many, labelRef{"l" + strconv.Itoa(i), "value"})
	}
	got := formatLabels(many)
	if len(got) > maxFormattedLabels+32 {
		t.Fatalf("formatted labels of %d bytes, want about %d at most", len(got), maxFormattedLabels)
	}
	n := strings.Count(got, "=")
	require.True(t, strings.HasSuffix(got, fmt.Sprintf(", and %d more labels}", 1000-n)), got)
}

func TestTruncateMessage(t *testing.T) {
	require.Equal(t, "short", truncateMessage("short", 10))
	got := truncateMessage(strings.Repeat("é", 100), 51)
	require.True(t, strings.HasPrefix(got, strings.Repeat("é", 25)+"… (150 more bytes)"), got)
}

func TestWriteRW2FirstSymbolMustBeEmpty(t *testing.T) {
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())
	req := &writev2.Request{
		Symbols: []string{"__name__", "up"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{0, 1},
			Samples:    []writev2.Sample{{Timestamp: 1, Value: 1}},
		}},
	}
	w := post(h, encodeRW2(t, req), v2Header...)
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `symbols[0] must be the empty string, got "__name__"`)
	require.Equal(t, "0", w.Header().Get(headerSamplesWritten))
	require.Zero(t, s.numSamples())
}

func TestWriteBodyOfTheOtherVersion(t *testing.T) {
	rw1 := encodeRW1(t, series1(lbls("__name__", "up"), prompb.Sample{Timestamp: 1, Value: 1}))
	rw2 := encodeRW2(t, &writev2.Request{
		Symbols: []string{"", "__name__", "up"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2},
			Samples:    []writev2.Sample{{Timestamp: 1, Value: 1}},
		}},
	})
	s := newMemStore()
	h := newHandler(t, s, fixedOpts())

	w := post(h, rw1, v2Header...)
	require.Equal(t, http.StatusBadRequest, w.Code, "1.0 body sent as 2.0: %s", w.Body.String())
	require.Contains(t, w.Body.String(), "holds no field of io.prometheus.write.v2.Request")

	w = post(h, rw2)
	require.Equal(t, http.StatusBadRequest, w.Code, "2.0 body sent as 1.0: %s", w.Body.String())
	require.Contains(t, w.Body.String(), "holds no field of prometheus.WriteRequest")
	require.Zero(t, s.numSamples())

	// An empty message is an empty request in both versions, as Prometheus
	// answers it.
	empty := snappy.Encode(nil, nil)
	require.Equal(t, http.StatusNoContent, post(h, empty).Code)
	require.Equal(t, http.StatusNoContent, post(h, empty, v2Header...).Code)
	// So is a 2.0 request holding only the symbol table.
	onlySymbols := encodeRW2(t, &writev2.Request{Symbols: []string{""}})
	require.Equal(t, http.StatusNoContent, post(h, onlySymbols, v2Header...).Code)
}

// blockingStore is an Appendable whose first appender blocks in Commit
// until release is closed, so that a request can be held in flight.
type blockingStore struct {
	*memStore
	once    sync.Once
	entered chan struct{} // closed when the first request reached Commit
	release chan struct{}
}

func newBlockingStore() *blockingStore {
	return &blockingStore{memStore: newMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
}

func (s *blockingStore) Appender() Appender {
	app := s.memStore.Appender()
	first := false
	s.once.Do(func() { first = true })
	if !first {
		return app
	}
	return &blockingAppender{Appender: app, s: s}
}

type blockingAppender struct {
	Appender
	s *blockingStore
}

func (a *blockingAppender) Commit() error {
	close(a.s.entered)
	<-a.s.release
	return a.Appender.Commit()
}

func TestWriteInflightLimit(t *testing.T) {
	s := newBlockingStore()
	opts := fixedOpts()
	opts.MaxInflight = 1
	h := newHandler(t, s, opts)
	body := encodeRW1(t, series1(lbls("__name__", "up"), prompb.Sample{Timestamp: 1, Value: 1}))

	first := make(chan int)
	go func() { first <- post(h, body).Code }()
	<-s.entered

	w := post(h, body)
	require.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
	require.Equal(t, "5", w.Header().Get("Retry-After"))
	require.Contains(t, w.Body.String(), "1 write requests in flight")

	close(s.release)
	require.Equal(t, http.StatusNoContent, <-first)
	// The slot is free again.
	require.Equal(t, http.StatusNoContent, post(h, body).Code)
	require.Equal(t, []model.Sample{{T: 1, V: 1}}, s.get(labels.FromStrings("__name__", "up")))
}

// timeoutBody fails as a connection past its read deadline does.
type timeoutBody struct{}

func (timeoutBody) Read([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

func TestWriteBodyReadTimeout(t *testing.T) {
	h := newHandler(t, newMemStore(), fixedOpts())
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", io.NopCloser(timeoutBody{}))
	r.Header.Set("Content-Encoding", "snappy")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusRequestTimeout, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "request body not received in time")
}
