package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
)

// repoCapture is the recording replayed by TestCaptureRoundTrip, relative
// to this package: the slice of a real Prometheus's remote write kept in
// the repository (testdata/capture/README.md).
const repoCapture = "../testdata/capture/prometheus-2.42-node-300req.rw"

// What the recording holds: the first 300 requests of the ten-minute
// capture carry 2,200 of its 2,201 series and 148,500 float samples, none
// sent twice.
const (
	captureSeries  = 2200
	captureSamples = 148_500
)

// TestCaptureRoundTrip replays three minutes of real Prometheus 2.42
// remote-write traffic into a head through the HTTP handler, then reads
// everything back over remote read, as samples and as streamed XOR chunks,
// and requires every sample bit for bit; then again after the head was
// closed and reopened from its WAL.
func TestCaptureRoundTrip(t *testing.T) {
	bodies, want := loadCapture(t)
	require.Len(t, want, captureSeries, "series in the capture")
	require.Equal(t, captureSamples, want.samples(), "samples in the capture")
	mint, maxt := want.timeRange()
	// The handler judges "too far in the future" by its clock; put it just
	// after the recording.
	now := func() time.Time { return time.UnixMilli(maxt).Add(time.Minute) }

	dir := t.TempDir()
	srv := startAPI(t, dir, now)
	c := newHTTPClient(t)
	for i, body := range bodies {
		code, msg := postWrite(t, c, srv.url+"/api/v1/write", body)
		require.Equal(t, http.StatusNoContent, code, "request %d of the capture: %s", i, msg)
	}

	all := &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: labels.MetricName, Value: ".+"}
	got := remoteRead(t, c, srv.url+"/api/v1/read", prompb.ReadRequest_SAMPLES, mint, maxt, all)
	requireSameSeries(t, want, got, "SAMPLES read after replay")
	got = remoteRead(t, c, srv.url+"/api/v1/read", prompb.ReadRequest_STREAMED_XOR_CHUNKS, mint, maxt, all)
	requireSameSeries(t, want, got, "STREAMED_XOR_CHUNKS read after replay")

	srv.close(t)
	srv = startAPI(t, dir, now)
	got = remoteRead(t, c, srv.url+"/api/v1/read", prompb.ReadRequest_STREAMED_XOR_CHUNKS, mint, maxt, all)
	requireSameSeries(t, want, got, "STREAMED_XOR_CHUNKS read after reopening the head")
}

// loadCapture reads the capture's request bodies and decodes them into the
// series they carry. An identical sample sent twice (a retry) counts once.
func loadCapture(t *testing.T) ([][]byte, seriesSet) {
	t.Helper()
	f, err := os.Open(repoCapture)
	require.NoError(t, err)
	defer f.Close()

	var bodies [][]byte
	want := seriesSet{}
	r := model.NewCaptureReader(f)
	for {
		body, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		bodies = append(bodies, bytes.Clone(body))
		raw, err := snappy.Decode(nil, body)
		require.NoError(t, err, "record %d", len(bodies)-1)
		var req prompb.WriteRequest
		require.NoError(t, req.Unmarshal(raw), "record %d", len(bodies)-1)
		for _, ts := range req.Timeseries {
			s := want.get(ts.Labels)
			for _, smp := range ts.Samples {
				s.samples = append(s.samples, sample{t: smp.Timestamp, v: smp.Value})
			}
		}
	}
	for key, s := range want {
		require.NoError(t, s.normalize(), "series %s of the capture", key)
	}
	return bodies, want
}

// apiServer is the remote-write and remote-read API over a head, wired as
// the binary wires it, served by httptest.
type apiServer struct {
	url   string
	h     *head.Head
	ts    *httptest.Server
	once  sync.Once
	close func(t *testing.T)
}

// startAPI opens a head on dir and serves the API over it until close is
// called or the test ends.
func startAPI(t *testing.T, dir string, now func() time.Time) *apiServer {
	t.Helper()
	h, err := head.Open(head.Options{Dir: dir, MaintenanceInterval: -1})
	require.NoError(t, err)
	write, err := remote.NewWriteHandler(headAppendable{h}, remote.WriteOptions{Now: now})
	require.NoError(t, err)
	read, err := remote.NewReadHandler(query.New(h), remote.ReadOptions{})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/write", write)
	mux.Handle("/api/v1/read", read)
	srv := &apiServer{h: h, ts: httptest.NewServer(mux)}
	srv.url = srv.ts.URL
	var closeErr error
	srv.close = func(t *testing.T) {
		t.Helper()
		srv.once.Do(func() {
			srv.ts.Close()
			closeErr = srv.h.Close()
		})
		require.NoError(t, closeErr, "close head")
	}
	t.Cleanup(func() { srv.close(t) })
	return srv
}

// headAppendable adapts the head to the remote package's interface.
type headAppendable struct{ h *head.Head }

func (a headAppendable) Appender() remote.Appender { return a.h.Appender() }

// postWrite sends one snappy remote-write 1.0 body and returns the status
// code and the answer's body.
func postWrite(t *testing.T, c *http.Client, url string, body []byte) (int, string) {
	t.Helper()
	code, _, msg := postWriteHeader(t, c, url, body)
	return code, msg
}

// sample is one float sample.
type sample struct {
	t int64
	v float64
}

// series is a label set and its samples in time order.
type series struct {
	lset    labels.Labels
	samples []sample
}

// normalize sorts the samples by time and drops exact repeats. Two
// different values at one timestamp are an error.
func (s *series) normalize() error {
	sort.SliceStable(s.samples, func(i, j int) bool { return s.samples[i].t < s.samples[j].t })
	out := s.samples[:0]
	for _, smp := range s.samples {
		if n := len(out); n > 0 && out[n-1].t == smp.t {
			if math.Float64bits(out[n-1].v) != math.Float64bits(smp.v) {
				return fmt.Errorf("two values at %d: %v and %v", smp.t, out[n-1].v, smp.v)
			}
			continue
		}
		out = append(out, smp)
	}
	s.samples = out
	return nil
}

// seriesSet maps the String() of a sorted label set to its series.
type seriesSet map[string]*series

// get returns the series of the label pairs, creating it if needed.
func (ss seriesSet) get(pbs []prompb.Label) *series {
	b := labels.NewScratchBuilder(len(pbs))
	for _, l := range pbs {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	lset := b.Labels()
	key := lset.String()
	s := ss[key]
	if s == nil {
		s = &series{lset: lset}
		ss[key] = s
	}
	return s
}

// samples counts the samples of every series.
func (ss seriesSet) samples() int {
	n := 0
	for _, s := range ss {
		n += len(s.samples)
	}
	return n
}

// timeRange returns the oldest and newest timestamps of the set.
func (ss seriesSet) timeRange() (mint, maxt int64) {
	mint, maxt = math.MaxInt64, math.MinInt64
	for _, s := range ss {
		if len(s.samples) > 0 {
			mint = min(mint, s.samples[0].t)
			maxt = max(maxt, s.samples[len(s.samples)-1].t)
		}
	}
	return mint, maxt
}

// remoteRead asks the remote-read endpoint at url for one query answered
// with the response type typ and decodes the answer. It checks what every
// answer must satisfy: each series' samples strictly in time order and
// inside [start, end]; streamed chunks in XOR encoding, with minimum and
// maximum times matching their samples, in frames whose checksums match.
func remoteRead(t *testing.T, c *http.Client, url string, typ prompb.ReadRequest_ResponseType, start, end int64, ms ...*prompb.LabelMatcher) seriesSet {
	t.Helper()
	rr := &prompb.ReadRequest{
		Queries:               []*prompb.Query{{StartTimestampMs: start, EndTimestampMs: end, Matchers: ms}},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{typ},
	}
	raw, err := rr.Marshal()
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("remote read %v: %s: %s", typ, resp.Status, msg)
	}
	var got seriesSet
	if typ == prompb.ReadRequest_SAMPLES {
		require.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"))
		require.Equal(t, "snappy", resp.Header.Get("Content-Encoding"))
		got = decodeSamples(t, resp.Body)
	} else {
		require.Equal(t, "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse", resp.Header.Get("Content-Type"))
		got = decodeStream(t, resp.Body)
	}
	for key, s := range got {
		for i, smp := range s.samples {
			require.True(t, smp.t >= start && smp.t <= end, "%v read: series %s: sample at %d outside [%d, %d]", typ, key, smp.t, start, end)
			require.True(t, i == 0 || s.samples[i-1].t < smp.t, "%v read: series %s: sample at %d after %d", typ, key, smp.t, s.samples[max(i-1, 0)].t)
		}
	}
	return got
}

// decodeSamples decodes a snappy ReadResponse holding one query's result.
func decodeSamples(t *testing.T, r io.Reader) seriesSet {
	t.Helper()
	body, err := io.ReadAll(r)
	require.NoError(t, err)
	raw, err := snappy.Decode(nil, body)
	require.NoError(t, err)
	var rr prompb.ReadResponse
	require.NoError(t, rr.Unmarshal(raw))
	require.Len(t, rr.Results, 1, "results of a one-query request")
	got := seriesSet{}
	for _, ts := range rr.Results[0].Timeseries {
		s := got.get(ts.Labels)
		require.Empty(t, s.samples, "series %s sent twice", s.lset)
		for _, smp := range ts.Samples {
			s.samples = append(s.samples, sample{t: smp.Timestamp, v: smp.Value})
		}
	}
	return got
}

// decodeStream decodes the frames of a streamed answer to one query:
//
//	frame := uvarint(len(msg)) big-endian-crc32c(msg) msg
//
// where msg is a ChunkedReadResponse. Series come sorted by labels; one
// split over frames repeats its labels in consecutive frames.
func decodeStream(t *testing.T, r io.Reader) seriesSet {
	t.Helper()
	br := bufio.NewReader(r)
	table := crc32.MakeTable(crc32.Castagnoli)
	got := seriesSet{}
	var prev labels.Labels
	for frame := 0; ; frame++ {
		size, err := binary.ReadUvarint(br)
		if errors.Is(err, io.EOF) {
			return got
		}
		require.NoError(t, err, "frame %d: length", frame)
		buf := make([]byte, 4+size)
		_, err = io.ReadFull(br, buf)
		require.NoError(t, err, "frame %d: %d bytes", frame, size)
		msg := buf[4:]
		require.Equal(t, binary.BigEndian.Uint32(buf), crc32.Checksum(msg, table), "frame %d: checksum", frame)
		var resp prompb.ChunkedReadResponse
		require.NoError(t, resp.Unmarshal(msg), "frame %d", frame)
		require.Zero(t, resp.QueryIndex, "frame %d: query index", frame)
		for _, cs := range resp.ChunkedSeries {
			s := got.get(cs.Labels)
			cmp := labels.Compare(prev, s.lset)
			require.True(t, cmp < 0 || (cmp == 0 && len(s.samples) > 0), "frame %d: series %s after %s", frame, s.lset, prev)
			prev = s.lset
			for _, ch := range cs.Chunks {
				s.samples = appendChunk(t, s.samples, ch, s.lset)
			}
		}
	}
}

// appendChunk decodes an XOR chunk, checks its declared time range, and
// appends its samples to dst.
func appendChunk(t *testing.T, dst []sample, ch prompb.Chunk, lset labels.Labels) []sample {
	t.Helper()
	require.Equal(t, prompb.Chunk_XOR, ch.Type, "series %s: chunk encoding", lset)
	c, err := chunkenc.FromData(chunkenc.EncXOR, ch.Data)
	require.NoError(t, err, "series %s", lset)
	n := len(dst)
	it := c.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		ts, v := it.At()
		dst = append(dst, sample{t: ts, v: v})
	}
	require.NoError(t, it.Err(), "series %s: chunk [%d, %d]", lset, ch.MinTimeMs, ch.MaxTimeMs)
	require.Greater(t, len(dst), n, "series %s: empty chunk [%d, %d]", lset, ch.MinTimeMs, ch.MaxTimeMs)
	require.Equal(t, c.NumSamples(), len(dst)-n, "series %s: chunk [%d, %d]: sample count", lset, ch.MinTimeMs, ch.MaxTimeMs)
	require.Equal(t, [2]int64{ch.MinTimeMs, ch.MaxTimeMs}, [2]int64{dst[n].t, dst[len(dst)-1].t},
		"series %s: chunk's declared time range against its first and last samples", lset)
	return dst
}

// requireSameSeries fails unless got holds exactly the series and samples
// of want, values compared bit for bit.
func requireSameSeries(t *testing.T, want, got seriesSet, what string) {
	t.Helper()
	var missing, extra []string
	for key := range want {
		if got[key] == nil {
			missing = append(missing, key)
		}
	}
	for key := range got {
		if want[key] == nil {
			extra = append(extra, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Zero(t, len(missing), "%s: %d of %d series missing, e.g. %q", what, len(missing), len(want), firstFew(missing))
	require.Zero(t, len(extra), "%s: %d unexpected series, e.g. %q", what, len(extra), firstFew(extra))
	for key, w := range want {
		g := got[key].samples
		for i := range min(len(w.samples), len(g)) {
			ws, gs := w.samples[i], g[i]
			if ws.t != gs.t || math.Float64bits(ws.v) != math.Float64bits(gs.v) {
				t.Fatalf("%s: series %s: sample %d: got (%d, %v / %#x), want (%d, %v / %#x)",
					what, key, i, gs.t, gs.v, math.Float64bits(gs.v), ws.t, ws.v, math.Float64bits(ws.v))
			}
		}
		require.Equal(t, len(w.samples), len(g), "%s: series %s: sample count", what, key)
	}
	require.Equal(t, want.samples(), got.samples(), "%s: samples", what)
}

// firstFew returns at most the first five of keys.
func firstFew(keys []string) []string {
	return keys[:min(len(keys), 5)]
}
