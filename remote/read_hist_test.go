package remote

import (
	"net/http"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/head"
	grquery "github.com/gorilla-remote/gorilla-remote/query"
)

// histAt is the counter histogram written at step i of the read tests.
func histAt(i int) *histogram.Histogram {
	n := uint64(i + 1)
	return &histogram.Histogram{
		Schema: 0, Count: 3 * n, Sum: float64(n),
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{int64(n), 0, 0},
	}
}

// TestHistogramsWriteThenRead writes native histograms through the write
// handler into a real head and reads them back through remote read, as
// samples and as chunks: the chunk inside the range is sent as stored, one
// reaching beyond it is cut to the range.
func TestHistogramsWriteThenRead(t *testing.T) {
	hd, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hd.Close() })
	w := newHandler(t, headStore{hd}, fixedOpts())
	base := now.UnixMilli() - 60_000
	req := series1(lbls("__name__", "lat"))
	for i := 0; i < 10; i++ {
		req.Timeseries[0].Histograms = append(req.Timeseries[0].Histograms, prompb.FromIntHistogram(base+int64(i)*1000, histAt(i)))
	}
	if resp := post(w, encodeRW1(t, req)); resp.Code != http.StatusNoContent {
		t.Fatalf("write: got %d (%s), want 204", resp.Code, resp.Body.String())
	}
	r := newReadHandler(t, grquery.New(hd), ReadOptions{})
	q := &prompb.Query{StartTimestampMs: base + 2000, EndTimestampMs: base + 5000, Matchers: []*prompb.LabelMatcher{eq("__name__", "lat")}}

	resp := postRead(r, readReq(t, &prompb.ReadRequest{Queries: []*prompb.Query{q}}))
	if resp.Code != http.StatusOK {
		t.Fatalf("read samples: %d %s", resp.Code, resp.Body.String())
	}
	res := decodeReadResponse(t, resp.Body.Bytes())
	if len(res.Results) != 1 || len(res.Results[0].Timeseries) != 1 {
		t.Fatalf("read samples: got %+v, want one series", res)
	}
	got := res.Results[0].Timeseries[0].Histograms
	if len(got) != 4 {
		t.Fatalf("read samples: got %d histograms, want 4", len(got))
	}
	for k, h := range got {
		if h.Timestamp != base+int64(k+2)*1000 || !h.ToIntHistogram().Equals(histAt(k+2)) {
			t.Fatalf("histogram %d: got %v at %d, want %v", k, h.ToIntHistogram(), h.Timestamp, histAt(k+2))
		}
	}

	resp = postRead(r, readReq(t, &prompb.ReadRequest{
		Queries: []*prompb.Query{q}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	}))
	frames := readFrames(t, resp.Body.Bytes())
	if len(frames) != 1 || len(frames[0].ChunkedSeries) != 1 || len(frames[0].ChunkedSeries[0].Chunks) != 1 {
		t.Fatalf("read chunks: got %+v, want one series with one chunk", frames)
	}
	c := frames[0].ChunkedSeries[0].Chunks[0]
	if c.Type != prompb.Chunk_HISTOGRAM || c.MinTimeMs != base+2000 || c.MaxTimeMs != base+5000 {
		t.Fatalf("read chunks: got a %s chunk [%d, %d], want HISTOGRAM [%d, %d]", c.Type, c.MinTimeMs, c.MaxTimeMs, base+2000, base+5000)
	}
	chk, err := chunkenc.FromData(chunkenc.EncHistogram, c.Data)
	if err != nil {
		t.Fatal(err)
	}
	it := chk.Iterator(nil)
	k := 2
	for it.Next() == chunkenc.ValHistogram {
		ts, h := it.AtHistogram(nil)
		if ts != base+int64(k)*1000 || !h.Equals(histAt(k)) {
			t.Fatalf("chunk histogram at %d: got %v, want %v", ts, h, histAt(k))
		}
		k++
	}
	if k != 6 {
		t.Fatalf("chunk holds %d histograms, want 4", k-2)
	}
}

func decodeReadResponse(t *testing.T, body []byte) *prompb.ReadResponse {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var res prompb.ReadResponse
	if err := res.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	return &res
}
