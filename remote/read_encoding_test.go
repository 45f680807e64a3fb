package remote

import (
	"context"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
	gquery "github.com/gorilla-remote/gorilla-remote/query"
)

// dirBlocks serves blocks written to local directories.
type dirBlocks struct {
	metas []block.Meta
	dirs  map[ulid.ULID]string
}

func (d *dirBlocks) Metas(mint, maxt int64) []block.Meta {
	var out []block.Meta
	for _, m := range d.metas {
		if m.Overlaps(mint, maxt) {
			out = append(out, m)
		}
	}
	return out
}

func (d *dirBlocks) Open(_ context.Context, id ulid.ULID) (*block.Block, func(), error) {
	b, err := block.Open(d.dirs[id])
	if err != nil {
		return nil, nil, err
	}
	return b, func() { _ = b.Close() }, nil
}

// TestReadStreamedConvertsBlockEncodings: remote read streams the chunks of
// xor2 and dense blocks as XOR chunks (the encoding every remote-read
// client knows), holding every sample bit for bit.
func TestReadStreamedConvertsBlockEncodings(t *testing.T) {
	const window = 2 * 3600_000
	src, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Retention: 1000 * time.Hour})
	require.NoError(t, err)
	defer src.Close()
	vals := []float64{0.5, math.Inf(1), math.Copysign(0, -1), math.Float64frombits(0x7ff8dead00000001), math.Pi, 12.25}
	lset := labels.FromStrings("__name__", "enc", "job", "a")
	app := src.Appender()
	var wantS []fSample
	for i := range 300 {
		s := fSample{t: int64(i) * 15_000, v: vals[i%len(vals)]}
		_, err := app.Append(0, lset, s.t, s.v)
		require.NoError(t, err)
		wantS = append(wantS, s)
	}
	require.NoError(t, app.Commit())
	series, err := src.WindowSeries(context.Background(), 0, window-1)
	require.NoError(t, err)
	empty, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	defer empty.Close()

	for _, enc := range []block.ChunkEncoding{block.EncodingXOR2, block.EncodingDense} {
		t.Run(string(enc), func(t *testing.T) {
			dir := t.TempDir()
			meta, err := block.Write(context.Background(), dir, 0, window, series, block.WriteOptions{Encoding: enc})
			require.NoError(t, err)
			blocks := &dirBlocks{metas: []block.Meta{meta}, dirs: map[ulid.ULID]string{meta.ULID: filepath.Join(dir, meta.ULID.String())}}
			h := newReadHandler(t, gquery.NewWithBlocks(empty, blocks), ReadOptions{})
			req := &prompb.ReadRequest{
				AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
				Queries:               []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: window - 1, Matchers: []*prompb.LabelMatcher{eq("__name__", "enc")}}},
			}
			w := postRead(h, readReq(t, req))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var got []fSample
			for _, f := range readFrames(t, w.Body.Bytes()) {
				for _, cs := range f.ChunkedSeries {
					for _, c := range cs.Chunks {
						got = append(got, chunkSamples(t, c)...) // requires Chunk_XOR
					}
				}
			}
			require.Len(t, got, len(wantS))
			for i := range wantS {
				if got[i].t != wantS[i].t || math.Float64bits(got[i].v) != math.Float64bits(wantS[i].v) {
					t.Fatalf("sample %d: got (%d, %#x), want (%d, %#x)", i, got[i].t, math.Float64bits(got[i].v), wantS[i].t, math.Float64bits(wantS[i].v))
				}
			}
		})
	}
}
