package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// Protocol identifiers of the Content-Type proto parameter.
const (
	protoV1 = "prometheus.WriteRequest"
	protoV2 = "io.prometheus.write.v2.Request"
)

// Response headers of remote write 2.0.
const (
	headerSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	headerHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	headerExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// maxPooledBytes bounds the buffers kept for reuse, so one huge request
// does not pin its memory for the life of the process.
const maxPooledBytes = 16 << 20

// writeHandler serves POST /api/v1/write.
type writeHandler struct {
	app      Appendable
	opts     WriteOptions
	metrics  *writeMetrics
	states   sync.Pool     // of *writeState
	inflight chan struct{} // one token per request being handled
	rate     *limits.RateLimiter
	logs     *limits.LogThrottle // bounds the logging of refusals
}

// rejectLogInterval is how often at most one refusal is logged per tenant
// and reason.
const rejectLogInterval = 10 * time.Second

// writeState is the memory one request needs, reused through a pool.
type writeState struct {
	compressed []byte
	decoded    []byte
	batch      writeBatch
	builder    labels.ScratchBuilder
	lset       labels.Labels  // reused for each series' labels
	pairs      []labels.Label // reused for each series' labels (findSeries)
	exBuilder  labels.ScratchBuilder
	families   map[string]struct{}
	tenant     string        // whose request this is
	limits     limits.Limits // the tenant's, read once per request
}

// NewWriteHandler returns the remote-write handler appending to app. It
// fails only when the metrics cannot be registered; Close unregisters them.
func NewWriteHandler(app Appendable, opts WriteOptions) (Handler, error) {
	opts = opts.withDefaults()
	m, err := newWriteMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	h := &writeHandler{
		app: app, opts: opts, metrics: m, inflight: make(chan struct{}, opts.MaxInflight),
		rate: limits.NewRateLimiter(opts.Limits, opts.Now),
		logs: limits.NewLogThrottle(rejectLogInterval, opts.Now),
	}
	h.states.New = func() any {
		return &writeState{
			builder:   labels.NewScratchBuilder(16),
			exBuilder: labels.NewScratchBuilder(4),
			families:  map[string]struct{}{},
		}
	}
	return h, nil
}

// Close unregisters the handler's metrics.
func (h *writeHandler) Close() { h.metrics.unregister() }

// httpError is an answer other than 204, with its status and message.
type httpError struct {
	code int
	msg  string
	// retryAfter, if set, is sent as Retry-After (rounded up to whole
	// seconds) instead of WriteOptions.RetryAfter.
	retryAfter time.Duration
}

func (e *httpError) Error() string { return e.msg }

// errorf builds an httpError.
func errorf(code int, format string, args ...any) *httpError {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP implements http.Handler.
func (h *writeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	version := "1.0"
	code := h.serve(w, r, &version)
	h.metrics.duration.WithLabelValues(version, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
}

// serve answers one request and returns the status code sent. It sets
// *version as soon as the protocol is known.
func (h *writeHandler) serve(w http.ResponseWriter, r *http.Request, version *string) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return h.fail(w, errorf(http.StatusMethodNotAllowed, "method %s not allowed, use POST", r.Method))
	}
	v2, herr := negotiate(r.Header)
	if herr != nil {
		return h.fail(w, herr)
	}
	if v2 {
		*version = "2.0"
	}
	// Refused before the body is read: an overloaded server must not
	// spend memory on requests it will not handle.
	if herr := h.takeSlot(); herr != nil {
		return h.fail(w, herr)
	}
	defer h.releaseSlot()
	st := h.states.Get().(*writeState)
	defer h.release(st)

	res, herr := h.handle(r, st, v2)
	if v2 {
		// Sent on every answer, errors included, so that a sender can tell
		// what part of a refused request was stored.
		w.Header().Set(headerSamplesWritten, strconv.Itoa(res.samples))
		w.Header().Set(headerHistogramsWritten, strconv.Itoa(res.histograms))
		w.Header().Set(headerExemplarsWritten, strconv.Itoa(res.exemplars))
	}
	if herr != nil {
		return h.fail(w, herr)
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// negotiate picks the protocol version from the headers: 415 for a
// content type or encoding we do not speak.
func negotiate(hdr http.Header) (v2 bool, err *httpError) {
	// Early 1.0 senders sent no Content-Encoding; snappy was implied.
	if enc := hdr.Get("Content-Encoding"); enc != "" && enc != "snappy" {
		return false, errorf(http.StatusUnsupportedMediaType, "unsupported Content-Encoding %q, only snappy is accepted", enc)
	}
	ct := hdr.Get("Content-Type")
	if ct == "" {
		return false, nil // Remote write 1.0 senders may omit it.
	}
	mt, params, perr := mime.ParseMediaType(ct)
	if perr != nil || mt != "application/x-protobuf" {
		return false, errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q, want application/x-protobuf", ct)
	}
	switch p := params["proto"]; p {
	case "", protoV1:
		return false, nil
	case protoV2:
		return true, nil
	default:
		return false, errorf(http.StatusUnsupportedMediaType, "unsupported proto %q, want %s or %s", p, protoV1, protoV2)
	}
}

// handle reads, decodes and stores one request. res is valid also when an
// error is returned.
func (h *writeHandler) handle(r *http.Request, st *writeState, v2 bool) (res appendResult, herr *httpError) {
	st.tenant = tenantOf(r)
	st.limits = h.opts.Limits.For(st.tenant)
	body, herr := h.readBody(r, st)
	if herr != nil {
		return res, herr
	}
	if v2 {
		if err := st.batch.decodeRW2(body); err != nil {
			return res, errorf(http.StatusBadRequest, "decode remote write 2.0 request: %v", err)
		}
		if err := st.batch.checkRW2Batch(len(body)); err != nil {
			return res, errorf(http.StatusBadRequest, "remote write 2.0 request: %v", err)
		}
	} else {
		if err := st.batch.decodeRW1(body); err != nil {
			return res, errorf(http.StatusBadRequest, "decode remote write 1.0 request: %v", err)
		}
		if err := st.batch.checkRW1(len(body)); err != nil {
			return res, errorf(http.StatusBadRequest, "remote write 1.0 request: %v", err)
		}
	}
	if herr := h.checkRate(st); herr != nil {
		return res, herr
	}
	return h.store(st)
}

// tenantOf returns the tenant a request belongs to: the id its context
// carries (tenant.WithID, set by the server's tenant router once it has
// checked the request's header), tenant.Anonymous if none.
func tenantOf(r *http.Request) string { return tenant.FromContext(r.Context()) }

// checkRate takes the request's samples from its tenant's ingestion rate.
// Over the rate the whole request is refused with 429 and Retry-After,
// before anything is stored: a rate limit is meant to shed load, and a
// sender configured to retry 429 (retry_on_http_429 in Prometheus) comes
// back after the delay the bucket needs to refill.
func (h *writeHandler) checkRate(st *writeState) *httpError {
	n := st.batch.sampleCount()
	wait, err := h.rate.Allow(st.tenant, n)
	if err == nil {
		return nil
	}
	h.metrics.samplesRejected.WithLabelValues(limits.ReasonRateLimited, st.tenant).Add(float64(n))
	if h.logs.Allow(st.tenant, limits.ReasonRateLimited) {
		example := ""
		if b := &st.batch; len(b.series) > 0 {
			example = formatLabels(b.labels[b.series[0].labelsFrom:b.series[0].labelsTo])
		}
		h.opts.Logger.Warn("remote write refused", slog.String("tenant", st.tenant),
			slog.String("reason", limits.ReasonRateLimited), slog.Int("samples", n),
			slog.String("example_series", example), slog.String("err", err.Error()))
	}
	return &httpError{code: http.StatusTooManyRequests, msg: err.Error(), retryAfter: wait}
}

// readBody reads and decompresses the body into st's buffers. The
// decompressed size is bounded by the tenant's max_request_bytes, else by
// MaxDecodedBytes.
func (h *writeHandler) readBody(r *http.Request, st *writeState) ([]byte, *httpError) {
	limit := h.opts.MaxCompressedBytes
	if r.ContentLength > int64(limit) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body of %d bytes is larger than the limit of %d", r.ContentLength, limit)
	}
	buf, err := readLimited(r.Body, st.compressed[:0], r.ContentLength, limit)
	st.compressed = buf
	if errors.Is(err, errTooLarge) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body is larger than the limit of %d bytes", limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's read timeout passed: the data may be good, the
		// connection was too slow, and the server closes it.
		return nil, errorf(http.StatusRequestTimeout, "request body not received in time: %v", err)
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "read body: %v", err)
	}
	maxDecoded, name := h.opts.MaxDecodedBytes, "MaxDecodedBytes"
	if st.limits.MaxRequestBytes > 0 {
		maxDecoded, name = st.limits.MaxRequestBytes, "max_request_bytes"
	}
	n, herr := decodedLen(buf, maxDecoded, name)
	if herr != nil {
		return nil, herr
	}
	if cap(st.decoded) < n {
		st.decoded = make([]byte, n)
	}
	out, err := snappy.Decode(st.decoded[:cap(st.decoded)], buf)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "decode snappy body: %v", err)
	}
	return out, nil
}

// decodedLen returns the length a snappy block declares, refusing it with
// 413 above limit before anything is allocated. The header is read here
// rather than by snappy.DecodedLen, which calls lengths over 4 GiB corrupt
// and so would hide an oversized body behind a 400.
func decodedLen(buf []byte, limit int, name string) (int, *httpError) {
	v, n := binary.Uvarint(buf)
	if n <= 0 {
		return 0, errorf(http.StatusBadRequest, "decode snappy header: invalid length prefix")
	}
	if v > uint64(limit) {
		return 0, errorf(http.StatusRequestEntityTooLarge, "decompressed body of %d bytes is larger than the limit of %d (%s)", v, limit, name)
	}
	if _, err := snappy.DecodedLen(buf); err != nil {
		return 0, errorf(http.StatusBadRequest, "decode snappy header: %v", err)
	}
	return int(v), nil
}

// errTooLarge is returned by readLimited for a body over its limit.
var errTooLarge = errors.New("body too large")

// readLimited appends all of r to buf and fails with errTooLarge once more
// than limit bytes were read. size is the announced length, -1 if unknown.
func readLimited(r io.Reader, buf []byte, size int64, limit int) ([]byte, error) {
	if size > 0 && cap(buf) < int(size) {
		buf = make([]byte, 0, size+1) // +1 so that EOF is seen without growing.
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// release returns st to the pool unless it grew too large to keep.
func (h *writeHandler) release(st *writeState) {
	st.batch.reset()
	if cap(st.compressed) > maxPooledBytes || cap(st.decoded) > maxPooledBytes {
		return
	}
	h.states.Put(st)
}

// fail writes e as a plain-text answer of at most about maxErrorBody
// bytes and returns its status code. A 503 (overload, shutdown) is logged
// at debug level only: logging each refusal would add to the overload.
func (h *writeHandler) fail(w http.ResponseWriter, e *httpError) int {
	switch {
	case e.code == http.StatusServiceUnavailable || e.code == http.StatusTooManyRequests:
		after := h.opts.RetryAfter
		if e.retryAfter > 0 {
			after = e.retryAfter
		}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(after)))
		h.opts.Logger.Debug("remote write refused", slog.Int("code", e.code), slog.String("err", e.msg))
	case e.code >= 500:
		h.opts.Logger.Error("remote write failed", slog.Int("code", e.code), slog.String("err", e.msg))
	}
	http.Error(w, truncateMessage(e.msg, maxErrorBody), e.code)
	return e.code
}

// retryAfterSeconds rounds d up to whole seconds, at least 1: Retry-After
// takes whole seconds, and 0 would invite an immediate retry.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// takeSlot takes one of the MaxInflight slots of the write endpoints, or
// refuses the request with 503 when all are taken; releaseSlot gives it
// back.
func (h *writeHandler) takeSlot() *httpError {
	select {
	case h.inflight <- struct{}{}:
		return nil
	default:
		return errorf(http.StatusServiceUnavailable,
			"%d write requests in flight, the most handled at once (MaxInflight); retry later", cap(h.inflight))
	}
}

func (h *writeHandler) releaseSlot() { <-h.inflight }
