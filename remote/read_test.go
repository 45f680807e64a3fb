package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/stretchr/testify/require"
)

// fSample is a float sample for the storage helpers.
type fSample struct {
	t int64
	v float64
}

func (s fSample) T() int64                      { return s.t }
func (s fSample) ST() int64                     { return 0 }
func (s fSample) F() float64                    { return s.v }
func (s fSample) H() *histogram.Histogram       { return nil }
func (s fSample) FH() *histogram.FloatHistogram { return nil }
func (s fSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fSample) Copy() chunks.Sample           { return s }

// listStore is a SampleAndChunkQueryable over fixed series; each series is
// stored as XOR chunks of chunkLen samples.
type listStore struct {
	series []storage.ChunkSeries
}

// newListStore stores n samples (t = 0, 10, 20, ...; v = t/10) for each
// label set, in chunks of chunkLen samples.
func newListStore(n, chunkLen int, lsets ...labels.Labels) *listStore {
	s := &listStore{}
	for _, lset := range lsets {
		var cs [][]chunks.Sample
		for i := 0; i < n; i += chunkLen {
			var c []chunks.Sample
			for j := i; j < min(n, i+chunkLen); j++ {
				c = append(c, fSample{t: int64(j) * 10, v: float64(j)})
			}
			cs = append(cs, c)
		}
		s.series = append(s.series, storage.NewListChunkSeriesFromSamples(lset, cs...))
	}
	return s
}

// listQuerier answers Select with float series.
type listQuerier struct {
	storage.LabelQuerier // unused; calling it panics
	s                    *listStore
}

// listChunkQuerier answers Select with chunk series.
type listChunkQuerier struct {
	storage.LabelQuerier // unused; calling it panics
	s                    *listStore
}

func (s *listStore) Querier(int64, int64) (storage.Querier, error) {
	return &listQuerier{s: s}, nil
}

func (s *listStore) ChunkQuerier(int64, int64) (storage.ChunkQuerier, error) {
	return &listChunkQuerier{s: s}, nil
}

func (q *listQuerier) Close() error      { return nil }
func (q *listChunkQuerier) Close() error { return nil }

// match returns the series matching every matcher.
func (s *listStore) match(ms []*labels.Matcher) *chunkSet {
	out := &chunkSet{i: -1}
	for _, cs := range s.series {
		ok := true
		for _, m := range ms {
			ok = ok && m.Matches(cs.Labels().Get(m.Name))
		}
		if ok {
			out.series = append(out.series, cs)
		}
	}
	return out
}

func (q *listQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return storage.NewSeriesSetFromChunkSeriesSet(q.s.match(ms))
}

func (q *listChunkQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	return q.s.match(ms)
}

// chunkSet is a slice-backed ChunkSeriesSet.
type chunkSet struct {
	series []storage.ChunkSeries
	i      int
}

func (c *chunkSet) Next() bool                        { c.i++; return c.i < len(c.series) }
func (c *chunkSet) At() storage.ChunkSeries           { return c.series[c.i] }
func (c *chunkSet) Err() error                        { return nil }
func (c *chunkSet) Warnings() annotations.Annotations { return nil }

// readReq encodes a read request.
func readReq(t *testing.T, req *prompb.ReadRequest) []byte {
	raw, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

func postRead(h http.Handler, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func eq(name, value string) *prompb.LabelMatcher {
	return &prompb.LabelMatcher{Type: prompb.LabelMatcher_EQ, Name: name, Value: value}
}

// readFrames decodes a streamed answer, checking every CRC.
func readFrames(t *testing.T, body []byte) []prompb.ChunkedReadResponse {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(body))
	var out []prompb.ChunkedReadResponse
	table := crc32.MakeTable(crc32.Castagnoli)
	for {
		n, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		var crc [4]byte
		_, err = io.ReadFull(br, crc[:])
		require.NoError(t, err)
		msg := make([]byte, n)
		_, err = io.ReadFull(br, msg)
		require.NoError(t, err)
		require.Equal(t, binary.BigEndian.Uint32(crc[:]), crc32.Checksum(msg, table), "frame CRC")
		var resp prompb.ChunkedReadResponse
		require.NoError(t, resp.Unmarshal(msg))
		out = append(out, resp)
	}
}

// chunkSamples decodes an XOR chunk.
func chunkSamples(t *testing.T, c prompb.Chunk) []fSample {
	t.Helper()
	require.Equal(t, prompb.Chunk_XOR, c.Type)
	chk, err := chunkenc.FromData(chunkenc.EncXOR, c.Data)
	require.NoError(t, err)
	var out []fSample
	it := chk.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		ts, v := it.At()
		out = append(out, fSample{ts, v})
	}
	require.NoError(t, it.Err())
	return out
}

// want lists the samples of a listStore series inside [mint, maxt].
func want(mint, maxt int64, n int) []fSample {
	var out []fSample
	for j := 0; j < n; j++ {
		if ts := int64(j) * 10; ts >= mint && ts <= maxt {
			out = append(out, fSample{ts, float64(j)})
		}
	}
	return out
}

func newReadHandler(t *testing.T, q storage.SampleAndChunkQueryable, opts ReadOptions) http.Handler {
	t.Helper()
	h, err := NewReadHandler(q, opts)
	require.NoError(t, err)
	return h
}

func TestReadSamples(t *testing.T) {
	a := labels.FromStrings("__name__", "up", "job", "a")
	b := labels.FromStrings("__name__", "up", "job", "b")
	c := labels.FromStrings("__name__", "down", "job", "a")
	h := newReadHandler(t, newListStore(300, 120, a, b, c), ReadOptions{})
	for name, tc := range map[string]struct {
		ms   []*prompb.LabelMatcher
		want []labels.Labels
	}{
		"eq":         {[]*prompb.LabelMatcher{eq("__name__", "up"), eq("job", "a")}, []labels.Labels{a}},
		"neq":        {[]*prompb.LabelMatcher{eq("__name__", "up"), {Type: prompb.LabelMatcher_NEQ, Name: "job", Value: "a"}}, []labels.Labels{b}},
		"re name":    {[]*prompb.LabelMatcher{{Type: prompb.LabelMatcher_RE, Name: "__name__", Value: "u.|do.*"}, eq("job", "a")}, []labels.Labels{a, c}},
		"nre":        {[]*prompb.LabelMatcher{{Type: prompb.LabelMatcher_NRE, Name: "__name__", Value: "up"}}, []labels.Labels{c}},
		"no matches": {[]*prompb.LabelMatcher{eq("job", "zzz")}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			w := postRead(h, readReq(t, &prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: 100, EndTimestampMs: 1500, Matchers: tc.ms}}}))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, "snappy", w.Header().Get("Content-Encoding"))
			require.Equal(t, "application/x-protobuf", w.Header().Get("Content-Type"))
			raw, err := snappy.Decode(nil, w.Body.Bytes())
			require.NoError(t, err)
			var resp prompb.ReadResponse
			require.NoError(t, resp.Unmarshal(raw))
			require.Len(t, resp.Results, 1)
			var got []labels.Labels
			for _, ts := range resp.Results[0].Timeseries {
				sb := labels.NewScratchBuilder(0)
				got = append(got, ts.ToLabels(&sb, nil))
				var smp []fSample
				for _, s := range ts.Samples {
					smp = append(smp, fSample{s.Timestamp, s.Value})
				}
				require.Equal(t, want(100, 1500, 300), smp)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestReadStreamed(t *testing.T) {
	a := labels.FromStrings("__name__", "up", "job", "a")
	b := labels.FromStrings("__name__", "up", "job", "b")
	store := newListStore(300, 120, a, b)
	for name, frameBytes := range map[string]int{"one frame per query": 0, "tiny frames": 10} {
		t.Run(name, func(t *testing.T) {
			h := newReadHandler(t, store, ReadOptions{MaxBytesInFrame: frameBytes})
			req := &prompb.ReadRequest{
				AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS},
				Queries: []*prompb.Query{
					{StartTimestampMs: 0, EndTimestampMs: 5000, Matchers: []*prompb.LabelMatcher{eq("__name__", "up")}},
					// [1300, 2500] cuts the chunk holding t=1200..2390 and the
					// one holding 2400..2990.
					{StartTimestampMs: 1300, EndTimestampMs: 2500, Matchers: []*prompb.LabelMatcher{eq("job", "b")}},
				},
			}
			w := postRead(h, readReq(t, req))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, streamedContentType, w.Header().Get("Content-Type"))
			got := map[int64]map[string][]fSample{0: {}, 1: {}}
			for _, f := range readFrames(t, w.Body.Bytes()) {
				for _, cs := range f.ChunkedSeries {
					key := cs.Labels[len(cs.Labels)-1].Value
					for _, c := range cs.Chunks {
						smp := chunkSamples(t, c)
						require.Equal(t, smp[0].t, c.MinTimeMs)
						require.Equal(t, smp[len(smp)-1].t, c.MaxTimeMs)
						// Chunks reaching beyond the range were cut to it.
						got[f.QueryIndex][key] = append(got[f.QueryIndex][key], smp...)
					}
				}
			}
			all := want(0, 5000, 300)
			require.Equal(t, map[int64]map[string][]fSample{
				0: {"a": all, "b": all},
				1: {"b": want(1300, 2500, 300)},
			}, got)
		})
	}
}

func TestReadStreamedSendsStoredChunks(t *testing.T) {
	a := labels.FromStrings("__name__", "up")
	store := newListStore(240, 120, a)
	h := newReadHandler(t, store, ReadOptions{})
	req := &prompb.ReadRequest{
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
		Queries:               []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: 2390, Matchers: []*prompb.LabelMatcher{eq("__name__", "up")}}},
	}
	w := postRead(h, readReq(t, req))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	frames := readFrames(t, w.Body.Bytes())
	require.Len(t, frames, 1)
	it := store.series[0].Iterator(nil)
	var stored [][]byte
	for it.Next() {
		stored = append(stored, it.At().Chunk.Bytes())
	}
	require.Len(t, frames[0].ChunkedSeries[0].Chunks, 2)
	for i, c := range frames[0].ChunkedSeries[0].Chunks {
		require.Equal(t, stored[i], c.Data, "chunk %d is sent as stored", i)
	}
}

func TestReadSampleLimit(t *testing.T) {
	a := labels.FromStrings("__name__", "up", "job", "a")
	b := labels.FromStrings("__name__", "up", "job", "b")
	h := newReadHandler(t, newListStore(300, 120, a, b), ReadOptions{MaxSamplesPerQuery: 500})
	for _, types := range [][]prompb.ReadRequest_ResponseType{nil, {prompb.ReadRequest_STREAMED_XOR_CHUNKS}} {
		req := &prompb.ReadRequest{
			AcceptedResponseTypes: types,
			Queries:               []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: 5000, Matchers: []*prompb.LabelMatcher{eq("__name__", "up")}}},
		}
		w := postRead(h, readReq(t, req))
		require.Equal(t, http.StatusBadRequest, w.Code, "%v", types)
		require.Contains(t, w.Body.String(), "more than 500 samples")
		require.Contains(t, w.Body.String(), "MaxSamplesPerQuery")
	}
}

func TestReadBadRequests(t *testing.T) {
	h := newReadHandler(t, newListStore(10, 5, labels.FromStrings("__name__", "up")), ReadOptions{})
	r := httptest.NewRequest(http.MethodGet, "/api/v1/read", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)

	for name, body := range map[string][]byte{
		"bad snappy":   {0x05, 0xff, 0xff, 0xff},
		"bad protobuf": snappy.Encode(nil, []byte{0x0a, 0xff, 0x01}),
		"bad type":     readReq(t, &prompb.ReadRequest{Queries: []*prompb.Query{{Matchers: []*prompb.LabelMatcher{{Type: 7, Name: "a", Value: "b"}}}}}),
		"bad regex":    readReq(t, &prompb.ReadRequest{Queries: []*prompb.Query{{Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_RE, Name: "a", Value: "("}}}}}),
	} {
		w := postRead(h, body)
		require.Equal(t, http.StatusBadRequest, w.Code, name)
	}
}

// FuzzReadRequestDecode feeds arbitrary bodies to the read handler: it must
// answer, never panic.
func FuzzReadRequestDecode(f *testing.F) {
	seed, err := (&prompb.ReadRequest{
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
		Queries: []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: 100, Matchers: []*prompb.LabelMatcher{eq("__name__", "up")},
			Hints: &prompb.ReadHints{StepMs: 10, Func: "rate", Grouping: []string{"a"}, RangeMs: 50}}},
	}).Marshal()
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte{})
	h, err := NewReadHandler(newListStore(30, 7, labels.FromStrings("__name__", "up")), ReadOptions{MaxSamplesPerQuery: 20})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, data []byte) {
		w := postRead(h, snappy.Encode(nil, data))
		require.Contains(t, []int{http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge}, w.Code)
	})
}

// deadlineRecorder is a ResponseRecorder that records the write deadlines
// set through http.ResponseController.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

func TestReadWriteDeadlinePerFrame(t *testing.T) {
	a := labels.FromStrings("__name__", "up", "job", "a")
	store := newListStore(300, 120, a)
	const wt = time.Hour
	h := newReadHandler(t, store, ReadOptions{MaxBytesInFrame: 10, WriteTimeout: wt})
	send := func(types ...prompb.ReadRequest_ResponseType) (*deadlineRecorder, time.Time) {
		req := &prompb.ReadRequest{
			AcceptedResponseTypes: types,
			Queries:               []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: 5000, Matchers: []*prompb.LabelMatcher{eq("__name__", "up")}}},
		}
		w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
		before := time.Now()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(readReq(t, req))))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return w, before
	}

	w, before := send(prompb.ReadRequest_STREAMED_XOR_CHUNKS)
	frames := readFrames(t, w.Body.Bytes())
	require.Greater(t, len(frames), 1)
	require.Len(t, w.deadlines, len(frames), "one deadline per frame")
	for i, d := range w.deadlines {
		require.False(t, d.Before(before.Add(wt)), "deadline %d is %v, want WriteTimeout after the frame", i, d)
	}

	w, _ = send(prompb.ReadRequest_SAMPLES)
	require.Len(t, w.deadlines, 1, "a samples answer is one write")
}
