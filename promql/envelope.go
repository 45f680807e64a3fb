package promql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/query"
)

// errorType is the errorType field of a failed answer.
type errorType string

// The error types of the Prometheus API.
const (
	errBadData     errorType = "bad_data"
	errExec        errorType = "execution"
	errTimeout     errorType = "timeout"
	errCanceled    errorType = "canceled"
	errInternal    errorType = "internal"
	errNotFound    errorType = "not_found"
	errUnavailable errorType = "unavailable"
)

// statusClientClosed is the nginx convention Prometheus uses when the client
// went away before the answer.
const statusClientClosed = 499

func (t errorType) status() int {
	switch t {
	case errBadData:
		return http.StatusBadRequest
	case errExec:
		return http.StatusUnprocessableEntity
	case errTimeout, errUnavailable:
		return http.StatusServiceUnavailable
	case errCanceled:
		return statusClientClosed
	case errNotFound:
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

// apiError is an error with the type it is reported as.
type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %v", e.typ, e.err) }

func (e *apiError) Unwrap() error { return e.err }

func badData(format string, args ...any) *apiError {
	return &apiError{errBadData, fmt.Errorf(format, args...)}
}

// response is the JSON envelope.
type response struct {
	Status    string    `json:"status"`
	Data      any       `json:"data,omitempty"`
	ErrorType errorType `json:"errorType,omitempty"`
	Error     string    `json:"error,omitempty"`
	Warnings  []string  `json:"warnings,omitempty"`
	Infos     []string  `json:"infos,omitempty"`
}

// writeData answers success with data and the annotations split into
// warnings and infos; query, when given, lets them name their position.
func writeData(w http.ResponseWriter, data any, annos annotations.Annotations, query string) {
	warns, infos := annos.AsStrings(query, 0, 0)
	if qd, ok := data.(queryData); ok {
		writeQueryData(w, qd, warns, infos)
		return
	}
	writeJSON(w, http.StatusOK, response{Status: "success", Data: data, Warnings: warns, Infos: infos})
}

// writeQueryData writes the envelope of a query answer around its result,
// which appendValue has encoded already: json.Marshal would scan and copy
// the result once more to check it, and so would joining the envelope and
// the result in one buffer; the three parts are written one after the
// other instead. The bytes are those json.Marshal writes for
// response{Data: qd}.
func writeQueryData(w http.ResponseWriter, qd queryData, warns, infos []string) {
	var head [64]byte
	b := append(head[:0], `{"status":"success","data":{"resultType":`...)
	b = strconv.AppendQuote(b, string(qd.ResultType))
	b = append(b, `,"result":`...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		return // the client is gone
	}
	if _, err := w.Write(qd.Result); err != nil {
		return
	}
	_, _ = w.Write(appendAnnotations(head[:0], warns, infos))
}

// appendAnnotations closes the data object and appends the warnings and
// infos fields, when there are any, and the envelope's closing brace.
func appendAnnotations(b []byte, warns, infos []string) []byte {
	b = append(b, '}')
	for _, f := range []struct {
		name string
		msgs []string
	}{{"warnings", warns}, {"infos", infos}} {
		if len(f.msgs) == 0 {
			continue
		}
		enc, err := json.Marshal(f.msgs)
		if err != nil { // a []string always encodes
			panic("BUG: encode " + f.name + ": " + err.Error())
		}
		b = append(b, `,"`+f.name+`":`...)
		b = append(b, enc...)
	}
	return append(b, '}')
}

// maxErrorMessage bounds the error field of an answer. Messages quote
// parameters (a time, a step, a label name, a piece of the query) and a
// client must not get back a copy of a huge request.
const maxErrorMessage = 1024

// writeError answers with the error envelope. The data field is kept on
// errors that carry partial results in Prometheus; we have none.
func writeError(w http.ResponseWriter, err *apiError) {
	writeJSON(w, err.typ.status(), response{Status: "error", ErrorType: err.typ, Error: truncateMessage(err.err.Error(), maxErrorMessage)})
}

// truncateMessage returns s when it has at most n bytes; otherwise its
// first n bytes or fewer, cut at a UTF-8 boundary, and how many bytes were
// left out. The result may exceed n by the length of that note.
func truncateMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:cut], len(s)-cut)
}

func writeJSON(w http.ResponseWriter, code int, r response) {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(response{Status: "error", ErrorType: errInternal, Error: fmt.Sprintf("encode answer: %v", err)})
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// classify turns an evaluation or storage error into its API type.
func classify(err error, maxSamples int) *apiError {
	var (
		ae       *apiError
		canceled upstream.ErrQueryCanceled
		timeout  upstream.ErrQueryTimeout
		samples  upstream.ErrTooManySamples
		storage  upstream.ErrStorage
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		return &apiError{errCanceled, err}
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{errTimeout, err}
	case errors.As(err, &samples):
		return &apiError{errExec, fmt.Errorf("%w (limit: %d samples, the tenant's max_query_samples, by default --query.max-samples)", err, maxSamples)}
	case errors.Is(err, query.ErrSeriesLimit):
		return &apiError{errExec, err}
	case errors.As(err, &storage):
		return &apiError{errInternal, err}
	default:
		return &apiError{errExec, err}
	}
}
