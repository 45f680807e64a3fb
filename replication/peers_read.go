package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// Paths of the internal API a node serves to its peers, over its local
// head only. They are part of the cluster protocol.
const (
	PathRead        = "/internal/v1/read"
	PathLabels      = "/internal/v1/labels"
	PathLabelValues = "/internal/v1/label/%s/values" // %s: the escaped label name
	PathMetadata    = "/internal/v1/metadata"
	PathExemplars   = "/internal/v1/query_exemplars"
)

// tenantHeader carries the tenant of an internal request.
const tenantHeader = "X-Scope-OrgID"

// maxErrorBody is how much of a peer's error answer is quoted.
const maxErrorBody = 512

// readRequest encodes the remote-read request of one Select over
// [mint, maxt], asking for streamed XOR chunks.
func readRequest(mint, maxt int64, hints *storage.SelectHints, ms []*labels.Matcher) ([]byte, error) {
	pms, err := toProtoMatchers(ms)
	if err != nil {
		return nil, err
	}
	q := &prompb.Query{StartTimestampMs: mint, EndTimestampMs: maxt, Matchers: pms}
	if hints != nil {
		q.Hints = &prompb.ReadHints{
			StepMs: hints.Step, Func: hints.Func, StartMs: hints.Start, EndMs: hints.End,
			Grouping: hints.Grouping, By: hints.By, RangeMs: hints.Range,
		}
	}
	req := &prompb.ReadRequest{
		Queries:               []*prompb.Query{q},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal read request: %w", err)
	}
	return snappy.Encode(nil, raw), nil
}

// toProtoMatchers converts label matchers into remote-read matchers.
func toProtoMatchers(ms []*labels.Matcher) ([]*prompb.LabelMatcher, error) {
	out := make([]*prompb.LabelMatcher, 0, len(ms))
	for _, m := range ms {
		var t prompb.LabelMatcher_Type
		switch m.Type {
		case labels.MatchEqual:
			t = prompb.LabelMatcher_EQ
		case labels.MatchNotEqual:
			t = prompb.LabelMatcher_NEQ
		case labels.MatchRegexp:
			t = prompb.LabelMatcher_RE
		case labels.MatchNotRegexp:
			t = prompb.LabelMatcher_NRE
		default:
			return nil, fmt.Errorf("matcher %s: unknown type %d", m.Name, m.Type)
		}
		out = append(out, &prompb.LabelMatcher{Type: t, Name: m.Name, Value: m.Value})
	}
	return out, nil
}

// peerSeries is one series as a peer sent it: its labels and chunks in
// time order.
type peerSeries struct {
	lset   labels.Labels
	chunks []chunks.Meta
}

// remoteRead sends body to the read endpoint at base and decodes the
// streamed answer into series sorted by labels.
func (p *PeerQueryable) remoteRead(ctx context.Context, base string, body []byte) ([]peerSeries, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+PathRead, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("new read request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	p.setTenant(req)
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("remote read: %w", err)
	}
	defer drain(resp.Body)
	if err := statusError(resp); err != nil {
		return nil, fmt.Errorf("remote read: %w", err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-streamed-protobuf") {
		return nil, fmt.Errorf("remote read: answer of content type %q, want a streamed answer", ct)
	}
	series, err := decodeStream(resp.Body, p.opts.MaxFrameBytes)
	if err != nil {
		return nil, fmt.Errorf("remote read: %w", err)
	}
	return series, nil
}

// decodeStream decodes the frames of a streamed remote-read answer to one
// query. Consecutive frames of one series (a long series is split over
// frames that repeat its labels) are joined. Series must come sorted by
// labels, as the handler sends them; an unsorted stream is corrupt.
func decodeStream(r io.Reader, maxFrame int) ([]peerSeries, error) {
	cr := newChunkedReader(r, uint64(maxFrame))
	var (
		out  []peerSeries
		resp prompb.ChunkedReadResponse
		b    labels.ScratchBuilder
	)
	for {
		err := cr.next(&resp)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if resp.QueryIndex != 0 {
			return nil, fmt.Errorf("%w: frame for query %d of a request with one", ErrCorruptStream, resp.QueryIndex)
		}
		for _, cs := range resp.ChunkedSeries {
			lset := cs.ToLabels(&b, nil)
			n := len(out)
			switch {
			case n > 0 && labels.Equal(out[n-1].lset, lset):
			case n > 0 && labels.Compare(out[n-1].lset, lset) > 0:
				return nil, fmt.Errorf("%w: series %s after %s, not sorted", ErrCorruptStream, lset, out[n-1].lset)
			default:
				out = append(out, peerSeries{lset: lset})
				n++
			}
			metas, err := toMetas(cs.Chunks)
			if err != nil {
				return nil, fmt.Errorf("series %s: %w", lset, err)
			}
			out[n-1].chunks = append(out[n-1].chunks, metas...)
		}
	}
}

// chunkEncodings maps the chunk types of a streamed answer that the store
// holds to their chunk encodings: XOR floats and native histograms.
var chunkEncodings = map[prompb.Chunk_Encoding]chunkenc.Encoding{
	prompb.Chunk_XOR:             chunkenc.EncXOR,
	prompb.Chunk_HISTOGRAM:       chunkenc.EncHistogram,
	prompb.Chunk_FLOAT_HISTOGRAM: chunkenc.EncFloatHistogram,
}

// toMetas turns the chunks of a frame into chunk metas; chunks of other
// encodings, which this store never holds, are skipped.
func toMetas(pcs []prompb.Chunk) ([]chunks.Meta, error) {
	out := make([]chunks.Meta, 0, len(pcs))
	for _, c := range pcs {
		enc, ok := chunkEncodings[c.Type]
		if !ok {
			continue
		}
		if c.MinTimeMs > c.MaxTimeMs {
			return nil, fmt.Errorf("%w: chunk [%d, %d] ends before it starts", ErrCorruptStream, c.MinTimeMs, c.MaxTimeMs)
		}
		// The frame buffer is reused: the chunk keeps its own copy.
		chk, err := chunkenc.FromData(enc, bytes.Clone(c.Data))
		if err != nil {
			return nil, fmt.Errorf("%w: chunk [%d, %d]: %w", ErrCorruptStream, c.MinTimeMs, c.MaxTimeMs, err)
		}
		out = append(out, chunks.Meta{MinTime: c.MinTimeMs, MaxTime: c.MaxTimeMs, Chunk: chk})
	}
	return out, nil
}

// statusError returns nil for a 2xx answer and otherwise an error with
// the status and the start of the body.
func statusError(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return fmt.Errorf("status %s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// drain reads what is left of body, so the connection can be reused, and
// closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	_ = body.Close()
}

// chunkSet is a ChunkSeriesSet over the series of one peer.
type chunkSet struct {
	series []peerSeries
	i      int
	annos  annotations.Annotations
}

func newChunkSet(series []peerSeries) *chunkSet { return &chunkSet{series: series, i: -1} }

// Next implements storage.ChunkSeriesSet.
func (c *chunkSet) Next() bool { c.i++; return c.i < len(c.series) }

// At implements storage.ChunkSeriesSet.
func (c *chunkSet) At() storage.ChunkSeries {
	s := c.series[c.i]
	return &storage.ChunkSeriesEntry{
		Lset: s.lset,
		ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator {
			return storage.NewListChunkSeriesIterator(s.chunks...)
		},
	}
}

// Err implements storage.ChunkSeriesSet.
func (c *chunkSet) Err() error { return nil }

// Warnings implements storage.ChunkSeriesSet.
func (c *chunkSet) Warnings() annotations.Annotations { return c.annos }
