package remote

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	metricsv1 "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Content types of OTLP/HTTP.
const (
	otlpProtobuf = "application/x-protobuf"
	otlpJSON     = "application/json"
)

// otlpHandler serves POST /api/v1/otlp/v1/metrics. It shares the
// remote-write handler it was made from: its store, limits, in-flight
// bound and metrics (protocol label "otlp"), so a tenant's ingestion rate
// counts both protocols.
type otlpHandler struct {
	h      *writeHandler
	set    otlpSettings
	states sync.Pool // of *otlpState
}

// otlpState is what one OTLP request needs beside its writeState.
type otlpState struct {
	req  metricsv1.MetricsData
	conv otlpConverter
	gz   *gzip.Reader
	raw  []byte // the gunzipped body
}

// NewOTLPHandler returns the OTLP/HTTP metrics handler (protobuf or JSON
// bodies, gzip or uncompressed) appending through write, which must come
// from NewWriteHandler: both share the store, limits and metrics. Each
// data point becomes float samples as docs/otlp.md describes; refused
// points give 400 naming a series, as remote write does, and a success is
// 200 with an empty ExportMetricsServiceResponse in the request's
// encoding. It fails for a handler of another kind or invalid opts.
func NewOTLPHandler(write Handler, opts OTLPOptions) (http.Handler, error) {
	h, ok := write.(*writeHandler)
	if !ok {
		return nil, fmt.Errorf("OTLP handler: %T is not a remote-write handler of NewWriteHandler", write)
	}
	set, err := newOTLPSettings(opts)
	if err != nil {
		return nil, fmt.Errorf("OTLP handler: %w", err)
	}
	o := &otlpHandler{h: h, set: set}
	o.states.New = func() any { return &otlpState{} }
	return o, nil
}

// ServeHTTP implements http.Handler.
func (o *otlpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := o.serve(w, r)
	o.h.metrics.duration.WithLabelValues("otlp", strconv.Itoa(code)).Observe(time.Since(start).Seconds())
}

// serve answers one request and returns the status code sent.
func (o *otlpHandler) serve(w http.ResponseWriter, r *http.Request) int {
	h := o.h
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return h.fail(w, errorf(http.StatusMethodNotAllowed, "method %s not allowed, use POST", r.Method))
	}
	isJSON, gzipped, herr := negotiateOTLP(r.Header)
	if herr != nil {
		return h.fail(w, herr)
	}
	if herr := h.takeSlot(); herr != nil {
		return h.fail(w, herr)
	}
	defer h.releaseSlot()
	st := h.states.Get().(*writeState)
	defer h.release(st)
	ost := o.states.Get().(*otlpState)
	defer o.release(ost)

	st.tenant = tenantOf(r)
	st.limits = h.opts.Limits.For(st.tenant)
	body, herr := o.readBody(r, st, ost, gzipped)
	if herr == nil {
		herr = o.decode(body, isJSON, st, ost)
	}
	if herr == nil {
		herr = h.checkRate(st)
	}
	if herr == nil {
		_, herr = h.store(st)
	}
	if herr != nil {
		return h.fail(w, herr)
	}
	// An empty ExportMetricsServiceResponse: all points were accepted.
	if isJSON {
		w.Header().Set("Content-Type", otlpJSON)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	} else {
		w.Header().Set("Content-Type", otlpProtobuf)
		w.WriteHeader(http.StatusOK)
	}
	return http.StatusOK
}

// negotiateOTLP reads the encoding of the body from the headers: 415 for
// a content type or encoding OTLP/HTTP does not define.
func negotiateOTLP(hdr http.Header) (isJSON, gzipped bool, err *httpError) {
	switch enc := hdr.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		gzipped = true
	default:
		return false, false, errorf(http.StatusUnsupportedMediaType, "unsupported Content-Encoding %q, want gzip or none", enc)
	}
	ct := hdr.Get("Content-Type")
	mt, _, perr := mime.ParseMediaType(ct)
	switch {
	case perr == nil && mt == otlpProtobuf:
		return false, gzipped, nil
	case perr == nil && mt == otlpJSON:
		return true, gzipped, nil
	}
	return false, false, errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q, want %s or %s", ct, otlpProtobuf, otlpJSON)
}

// readBody reads the body into st.compressed and, when gzipped, inflates
// it into ost.raw. The inflated size is bounded like a snappy body's.
func (o *otlpHandler) readBody(r *http.Request, st *writeState, ost *otlpState, gzipped bool) ([]byte, *httpError) {
	h := o.h
	limit := h.opts.MaxCompressedBytes
	if r.ContentLength > int64(limit) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body of %d bytes is larger than the limit of %d", r.ContentLength, limit)
	}
	buf, err := readLimited(r.Body, st.compressed[:0], r.ContentLength, limit)
	st.compressed = buf
	switch {
	case errors.Is(err, errTooLarge):
		return nil, errorf(http.StatusRequestEntityTooLarge, "body is larger than the limit of %d bytes", limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, errorf(http.StatusRequestTimeout, "request body not received in time: %v", err)
	case err != nil:
		return nil, errorf(http.StatusBadRequest, "read body: %v", err)
	}
	maxDecoded, name := h.opts.MaxDecodedBytes, "MaxDecodedBytes"
	if st.limits.MaxRequestBytes > 0 {
		maxDecoded, name = st.limits.MaxRequestBytes, "max_request_bytes"
	}
	if !gzipped {
		if len(buf) > maxDecoded {
			return nil, errorf(http.StatusRequestEntityTooLarge, "body of %d bytes is larger than the limit of %d (%s)", len(buf), maxDecoded, name)
		}
		return buf, nil
	}
	out, herr := ost.gunzip(buf, maxDecoded, name)
	return out, herr
}

// gunzip inflates buf into ost.raw, at most limit bytes (413 above).
func (ost *otlpState) gunzip(buf []byte, limit int, name string) ([]byte, *httpError) {
	var err error
	if ost.gz == nil {
		ost.gz, err = gzip.NewReader(bytes.NewReader(buf))
	} else {
		err = ost.gz.Reset(bytes.NewReader(buf))
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "decode gzip body: %v", err)
	}
	out, err := readLimited(ost.gz, ost.raw[:0], -1, limit)
	ost.raw = out
	if errors.Is(err, errTooLarge) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "decompressed body is larger than the limit of %d bytes (%s)", limit, name)
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "decode gzip body: %v", err)
	}
	return out, nil
}

// decode parses an ExportMetricsServiceRequest (its only field is the
// resource_metrics of MetricsData, which it shares the wire form and JSON
// names with) and converts it into st.batch.
func (o *otlpHandler) decode(body []byte, isJSON bool, st *writeState, ost *otlpState) *httpError {
	herr := decodeOTLP(body, isJSON, &ost.req)
	if herr != nil {
		return herr
	}
	ost.conv.set, ost.conv.b, ost.conv.fromJSON = &o.set, &st.batch, isJSON
	ost.conv.convert(&ost.req)
	return nil
}

// decodeOTLP parses body into req: 400 when it is not a valid OTLP
// metrics request in the given encoding.
func decodeOTLP(body []byte, isJSON bool, req *metricsv1.MetricsData) *httpError {
	var err error
	if isJSON {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, req)
	} else {
		err = proto.Unmarshal(body, req)
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "decode OTLP metrics request: %v", err)
	}
	return nil
}

// release returns ost to the pool unless its buffer grew too large.
func (o *otlpHandler) release(ost *otlpState) {
	ost.req.Reset()
	if cap(ost.raw) > maxPooledBytes {
		return
	}
	o.states.Put(ost)
}

// refusalMessage is the answer's text for a series refused while an OTLP
// request was converted.
func refusalMessage(reason string) string {
	switch reason {
	case reasonDeltaTemporality:
		return "delta temporality is not supported, send cumulative sums and histograms"
	case reasonInvalidLabels:
		return "an attribute has an empty name"
	case reasonOTLPScale:
		return fmt.Sprintf("exponential histogram scale coarser than the coarsest native schema, %d", minNativeSchema)
	}
	return reason
}
