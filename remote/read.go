package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/internal/metricsreg"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// readHandler serves POST /api/v1/read.
type readHandler struct {
	q        storage.SampleAndChunkQueryable
	opts     ReadOptions
	slots    chan struct{} // one token per request being served
	duration *prometheus.HistogramVec
}

// NewReadHandler returns the remote-read handler answering from q. It fails
// only when the metrics cannot be registered; Close unregisters them.
func NewReadHandler(q storage.SampleAndChunkQueryable, opts ReadOptions) (Handler, error) {
	opts = opts.withDefaults()
	h := &readHandler{
		q:     q,
		opts:  opts,
		slots: make(chan struct{}, opts.MaxConcurrent),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "gorilla_remote_read_request_duration_seconds",
			Help:                        "Time to answer a remote-read request, by response type and status code.",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1,
		}, []string{"type", "code"}),
	}
	if err := metricsreg.Register(opts.Registerer, []prometheus.Collector{h.duration}); err != nil {
		return nil, fmt.Errorf("remote-read metrics: %w", err)
	}
	return h, nil
}

// Close unregisters the handler's metrics.
func (h *readHandler) Close() {
	metricsreg.Unregister(h.opts.Registerer, []prometheus.Collector{h.duration})
}

// errLimit reports a query over MaxSamplesPerQuery.
var errLimit = errors.New("sample limit exceeded")

// ServeHTTP implements http.Handler.
func (h *readHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	typ := "samples"
	code := h.serve(w, r, &typ)
	h.duration.WithLabelValues(typ, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
}

// serve answers one request and returns the status code sent.
func (h *readHandler) serve(w http.ResponseWriter, r *http.Request, typ *string) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return h.fail(w, errorf(http.StatusMethodNotAllowed, "method %s not allowed, use POST", r.Method))
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-r.Context().Done():
		return h.fail(w, errorf(http.StatusServiceUnavailable, "no read slot free: %v", r.Context().Err()))
	}
	req, herr := h.decode(r)
	if herr != nil {
		return h.fail(w, herr)
	}
	queries, herr := toQueries(req)
	if herr != nil {
		return h.fail(w, herr)
	}
	if streamed(req) {
		*typ = "streamed_xor_chunks"
		return h.serveStreamed(w, r.Context(), queries)
	}
	return h.serveSamples(w, r.Context(), queries)
}

// decode reads and decodes the snappy-compressed ReadRequest.
func (h *readHandler) decode(r *http.Request) (*prompb.ReadRequest, *httpError) {
	limit := h.opts.MaxDecodedBytes
	buf, err := readLimited(r.Body, nil, r.ContentLength, limit)
	if errors.Is(err, errTooLarge) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body is larger than the limit of %d bytes", limit)
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "read body: %v", err)
	}
	if _, herr := decodedLen(buf, limit, "MaxDecodedBytes"); herr != nil {
		return nil, herr
	}
	raw, err := snappy.Decode(nil, buf)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "decode snappy body: %v", err)
	}
	var req prompb.ReadRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return nil, errorf(http.StatusBadRequest, "decode read request: %v", err)
	}
	return &req, nil
}

// query is one decoded query of a read request.
type query struct {
	matchers []*labels.Matcher
	hints    storage.SelectHints
}

// toQueries converts the request's queries; unknown matcher types and bad
// regular expressions are client errors.
func toQueries(req *prompb.ReadRequest) ([]query, *httpError) {
	out := make([]query, 0, len(req.Queries))
	for i, q := range req.Queries {
		ms, err := toMatchers(q.Matchers)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "query %d: %v", i, err)
		}
		hints := storage.SelectHints{Start: q.StartTimestampMs, End: q.EndTimestampMs}
		if p := q.Hints; p != nil {
			hints.Step, hints.Func, hints.Grouping, hints.By, hints.Range = p.StepMs, p.Func, p.Grouping, p.By, p.RangeMs
			// The hints' own window may be narrower than the query's; the
			// query's bounds are the ones the answer must cover.
		}
		out = append(out, query{matchers: ms, hints: hints})
	}
	return out, nil
}

// toMatchers converts remote-read matchers into label matchers.
func toMatchers(pbs []*prompb.LabelMatcher) ([]*labels.Matcher, error) {
	out := make([]*labels.Matcher, 0, len(pbs))
	for _, m := range pbs {
		var t labels.MatchType
		switch m.Type {
		case prompb.LabelMatcher_EQ:
			t = labels.MatchEqual
		case prompb.LabelMatcher_NEQ:
			t = labels.MatchNotEqual
		case prompb.LabelMatcher_RE:
			t = labels.MatchRegexp
		case prompb.LabelMatcher_NRE:
			t = labels.MatchNotRegexp
		default:
			return nil, fmt.Errorf("unknown matcher type %d for label %q", m.Type, m.Name)
		}
		lm, err := labels.NewMatcher(t, m.Name, m.Value)
		if err != nil {
			return nil, fmt.Errorf("matcher %s: %w", m.Name, err)
		}
		out = append(out, lm)
	}
	return out, nil
}

// streamed reports whether the client accepts streamed XOR chunks; it is
// preferred whenever listed, as it sends the stored chunks without decoding.
func streamed(req *prompb.ReadRequest) bool {
	for _, t := range req.AcceptedResponseTypes {
		if t == prompb.ReadRequest_STREAMED_XOR_CHUNKS {
			return true
		}
	}
	return false
}

// serveSamples answers with one snappy-compressed ReadResponse.
func (h *readHandler) serveSamples(w http.ResponseWriter, ctx context.Context, queries []query) int {
	resp := prompb.ReadResponse{Results: make([]*prompb.QueryResult, 0, len(queries))}
	for i := range queries {
		res, err := h.collect(ctx, &queries[i])
		if err != nil {
			return h.fail(w, h.queryError(i, err))
		}
		resp.Results = append(resp.Results, res)
	}
	raw, err := proto.Marshal(&resp)
	if err != nil {
		return h.fail(w, errorf(http.StatusInternalServerError, "marshal read response: %v", err))
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set("Content-Encoding", "snappy")
	h.extendWrite(http.NewResponseController(w))
	if _, err := w.Write(snappy.Encode(nil, raw)); err != nil {
		h.opts.Logger.Debug("write read response", slog.Any("err", err))
	}
	return http.StatusOK
}

// collect runs one query and gathers its float and native histogram
// samples, stopping as soon as
// the sample limit is passed.
func (h *readHandler) collect(ctx context.Context, q *query) (*prompb.QueryResult, error) {
	querier, err := h.q.Querier(q.hints.Start, q.hints.End)
	if err != nil {
		return nil, fmt.Errorf("open querier: %w", err)
	}
	defer querier.Close()
	ss := querier.Select(ctx, false, &q.hints, q.matchers...)
	res := &prompb.QueryResult{}
	total := 0
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		ts := prompb.TimeSeries{Labels: prompb.FromLabels(s.Labels(), nil)}
		it = s.Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			t := it.AtT()
			if t < q.hints.Start || t > q.hints.End {
				continue
			}
			if total++; total > h.opts.MaxSamplesPerQuery {
				return nil, errLimit
			}
			switch vt {
			case chunkenc.ValFloat:
				_, v := it.At()
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t, Value: v})
			case chunkenc.ValHistogram:
				_, hh := it.AtHistogram(nil)
				ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(t, hh))
			case chunkenc.ValFloatHistogram:
				_, fh := it.AtFloatHistogram(nil)
				ts.Histograms = append(ts.Histograms, prompb.FromFloatHistogram(t, fh))
			}
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("iterate series %s: %w", s.Labels(), err)
		}
		res.Timeseries = append(res.Timeseries, &ts)
	}
	if err := ss.Err(); err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	if err := unavailable(ss.Warnings()); err != nil {
		return nil, err
	}
	return res, nil
}

// unavailable returns the first warning that wraps model.ErrUnavailable:
// the store could not reach all of its data (in a cluster, too many nodes
// down), and remote read must not answer silently incomplete data.
func unavailable(ws annotations.Annotations) error {
	for _, w := range ws {
		if errors.Is(w, model.ErrUnavailable) {
			return w
		}
	}
	return nil
}

// queryError maps an error of query i to its answer.
func (h *readHandler) queryError(i int, err error) *httpError {
	if errors.Is(err, errLimit) {
		return errorf(http.StatusBadRequest, "query %d: more than %d samples, the limit per query (MaxSamplesPerQuery)", i, h.opts.MaxSamplesPerQuery)
	}
	if errors.Is(err, model.ErrUnavailable) {
		return errorf(http.StatusServiceUnavailable, "query %d: %v", i, err)
	}
	return errorf(http.StatusInternalServerError, "query %d: %v", i, err)
}

// fail writes e as a plain-text answer of at most about maxErrorBody
// bytes (matcher errors quote the client's regular expressions) and
// returns its status code.
func (h *readHandler) fail(w http.ResponseWriter, e *httpError) int {
	if e.code >= 500 {
		h.opts.Logger.Error("remote read failed", slog.Int("code", e.code), slog.String("err", e.msg))
	}
	h.extendWrite(http.NewResponseController(w))
	http.Error(w, truncateMessage(e.msg, maxErrorBody), e.code)
	return e.code
}

// extendWrite gives the next write WriteTimeout from now, when set. The
// time spent reading the store before is not counted: it is bounded by the
// client's own timeout, which cancels the request.
func (h *readHandler) extendWrite(rc *http.ResponseController) {
	if h.opts.WriteTimeout <= 0 {
		return
	}
	if err := rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		h.opts.Logger.Debug("set remote-read write deadline", slog.Any("err", err))
	}
}
