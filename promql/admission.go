package promql

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// retryAfter is sent with the 503 of a full API, in seconds: long enough
// for the queries in flight to move, short enough for a dashboard refresh.
const retryAfter = 5 * time.Second

// admit takes one of the MaxInflight slots and returns its release. When
// none is free it answers 503 unavailable with Retry-After and reports
// false: a server that queued every request would run out of memory, and
// clients would time out waiting anyway.
func (a *API) admit(w http.ResponseWriter) (release func(), ok bool) {
	select {
	case a.inflight <- struct{}{}:
		return func() { <-a.inflight }, true
	default:
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	writeError(w, &apiError{errUnavailable, fmt.Errorf(
		"%d requests in flight, the most served at once (--query.max-inflight); retry later", cap(a.inflight))})
	return nil, false
}

// setWriteDeadline gives the request the engine's timeout plus
// WriteTimeout to be answered, when WriteTimeout is set.
func (a *API) setWriteDeadline(w http.ResponseWriter) {
	if a.opts.WriteTimeout <= 0 {
		return
	}
	d := time.Now().Add(a.opts.Engine.Options().Timeout + a.opts.WriteTimeout)
	if err := http.NewResponseController(w).SetWriteDeadline(d); err != nil && !errors.Is(err, http.ErrNotSupported) {
		a.opts.Logger.Debug("set query API write deadline", "err", err)
	}
}

// setDefault sets *v to def when it is zero or negative.
func setDefault(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}
