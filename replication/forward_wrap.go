package replication

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/golang/snappy"
)

// Wrap returns h, the public remote-write handler, with forwarding: h
// answers into a buffer; when it stored the request (a 2xx, or a 400
// whose message names refused series, the rest being stored), the body
// is queued for every region before the answer is sent. A request that
// carries X-Gorilla-Replicated-From, or any request when there are no
// regions, goes to h as it is. A body over MaxBodyBytes is answered 413;
// one that cannot be queued, 503 with Retry-After.
func (f *Forwarder) Wrap(h http.Handler) http.Handler {
	if len(f.senders) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ReplicatedFromHeader) != "" || r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		body, err := readBody(r, f.opts.MaxBodyBytes)
		if err != nil {
			http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if int64(len(body)) > f.opts.MaxBodyBytes {
			http.Error(w, fmt.Sprintf("request body over %d bytes", f.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if stored(rec) {
			err := f.Enqueue(Request{
				Samples:     samplesOf(rec.header, r.Header.Get(versionHeader), body),
				ContentType: r.Header.Get("Content-Type"), Version: r.Header.Get(versionHeader),
				Tenant: tenantOf(r), Body: body,
			})
			if err != nil {
				f.opts.Logger.Error("replication: cannot queue a write for the other regions", "err", err)
				w.Header().Set("Retry-After", "5")
				http.Error(w, "stored locally but not queued for the other regions: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		rec.replay(w)
	})
}

// readBody reads r's body, at most limit+1 bytes: in one buffer of its
// Content-Length when it declares one within the limit (the server ends
// the body there), else growing as it comes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, limit+1))
}

// stored reports whether the handler's answer says it stored the request.
func stored(rec *recorder) bool {
	return rec.code/100 == 2 || rec.code == http.StatusBadRequest && bytes.HasPrefix(rec.body.Bytes(), refusalPrefix)
}

// recorder keeps a handler's answer for replay.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// replay sends the recorded answer to w.
func (r *recorder) replay(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(max(r.code, http.StatusOK))
	_, _ = w.Write(r.body.Bytes()) // a client gone away is not ours to report
}

// samplesOf returns how many samples a stored request carried: the
// handler's X-Prometheus-Remote-Write-*-Written headers for remote write
// 2.0, else a count over the decoded body. 0 when unknown.
func samplesOf(answer http.Header, version string, body []byte) int {
	if v := answer.Get("X-Prometheus-Remote-Write-Samples-Written"); v != "" {
		n, _ := strconv.Atoi(v)
		h, _ := strconv.Atoi(answer.Get("X-Prometheus-Remote-Write-Histograms-Written"))
		return n + h
	}
	bp := decodeBufs.Get().(*[]byte)
	defer decodeBufs.Put(bp)
	if n, err := snappy.DecodedLen(body); err != nil || n > cap(*bp) && n > maxPooledDecode {
		*bp = nil // a rare large body is decoded into a buffer of its own
	}
	raw, err := snappy.Decode((*bp)[:cap(*bp)], body)
	if err != nil {
		return 0
	}
	if cap(raw) <= maxPooledDecode {
		*bp = raw
	}
	n, _ := countSamples(raw, version != "" && version[0] == '2')
	return n
}

// decodeBufs holds the buffers samplesOf decodes bodies into, at most
// maxPooledDecode bytes each.
var decodeBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledDecode = 4 << 20

var errWire = errors.New("replication: malformed protobuf")

// countSamples counts the samples and histograms of a decoded remote-write
// body without decoding it: the series are field 1 of a 1.0 WriteRequest
// and field 5 of a 2.0 Request; in both, samples are field 2 of a series,
// histograms field 4 (1.0) or 3 (2.0).
func countSamples(raw []byte, v2 bool) (int, error) {
	seriesField, histField := uint64(1), uint64(4)
	if v2 {
		seriesField, histField = 5, 3
	}
	n := 0
	err := walkFields(raw, func(field uint64, msg []byte) error {
		if field != seriesField {
			return nil
		}
		return walkFields(msg, func(f uint64, _ []byte) error {
			if f == 2 || f == histField {
				n++
			}
			return nil
		})
	})
	return n, err
}

// walkFields calls fn with every length-delimited field of the protobuf
// message raw, skipping the others.
func walkFields(raw []byte, fn func(field uint64, msg []byte) error) error {
	for len(raw) > 0 {
		key, k := binary.Uvarint(raw)
		if k <= 0 {
			return errWire
		}
		raw = raw[k:]
		switch key & 7 {
		case 0: // varint
			_, k = binary.Uvarint(raw)
			if k <= 0 {
				return errWire
			}
			raw = raw[k:]
		case 1: // fixed64
			if len(raw) < 8 {
				return errWire
			}
			raw = raw[8:]
		case 5: // fixed32
			if len(raw) < 4 {
				return errWire
			}
			raw = raw[4:]
		case 2:
			l, k := binary.Uvarint(raw)
			if k <= 0 || l > uint64(len(raw)-k) {
				return errWire
			}
			if err := fn(key>>3, raw[k:k+int(l)]); err != nil {
				return err
			}
			raw = raw[k+int(l):]
		default:
			return errWire
		}
	}
	return nil
}
