package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// warnStore is a listStore whose series sets carry one warning, as a
// cluster's querier does when it could not reach enough nodes.
type warnStore struct {
	*listStore
	warn error
}

type warnQuerier struct {
	listQuerier
	warn error
}

type warnChunkQuerier struct {
	listChunkQuerier
	warn error
}

// warnSet adds a warning to a ChunkSeriesSet.
type warnSet struct {
	storage.ChunkSeriesSet
	warn error
}

func (s warnSet) Warnings() annotations.Annotations {
	var a annotations.Annotations
	return a.Add(s.warn)
}

func (s *warnStore) Querier(int64, int64) (storage.Querier, error) {
	return &warnQuerier{listQuerier{s: s.listStore}, s.warn}, nil
}

func (s *warnStore) ChunkQuerier(int64, int64) (storage.ChunkQuerier, error) {
	return &warnChunkQuerier{listChunkQuerier{s: s.listStore}, s.warn}, nil
}

func (q *warnQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return storage.NewSeriesSetFromChunkSeriesSet(warnSet{q.s.match(ms), q.warn})
}

func (q *warnChunkQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	return warnSet{q.s.match(ms), q.warn}
}

// partialError is a warning of missing data, as a cluster reports it.
type partialError struct{}

func (partialError) Error() string { return "partial result: 2 of 3 nodes unreachable (b, c)" }
func (partialError) Unwrap() error { return model.ErrUnavailable }

// TestReadPartialResult checks that a querier warning that wraps
// model.ErrUnavailable turns the answer into a 503 naming it, for both
// response types, and that other warnings leave the answer alone.
func TestReadPartialResult(t *testing.T) {
	lset := labels.FromStrings("__name__", "up", "job", "a")
	query := []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: 5000, Matchers: []*prompb.LabelMatcher{eq("__name__", "up")}}}
	types := map[string][]prompb.ReadRequest_ResponseType{
		"samples":  {prompb.ReadRequest_SAMPLES},
		"streamed": {prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	}
	for name, accepted := range types {
		for _, tc := range []struct {
			warn     error
			wantCode int
		}{
			{partialError{}, http.StatusServiceUnavailable},
			{fmt.Errorf("wrapped: %w", partialError{}), http.StatusServiceUnavailable},
			{errors.New("some other warning"), http.StatusOK},
		} {
			h := newReadHandler(t, &warnStore{newListStore(300, 120, lset), tc.warn}, ReadOptions{})
			w := postRead(h, readReq(t, &prompb.ReadRequest{Queries: query, AcceptedResponseTypes: accepted}))
			if w.Code != tc.wantCode {
				t.Fatalf("%s, warning %q: status %d (%s), want %d", name, tc.warn, w.Code, w.Body.String(), tc.wantCode)
			}
			if tc.wantCode == http.StatusServiceUnavailable && !strings.Contains(w.Body.String(), "partial result: 2 of 3 nodes unreachable (b, c)") {
				t.Fatalf("%s: body %q does not name the partial result", name, w.Body.String())
			}
		}
	}
}
