package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/http"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	xorchunk "github.com/gorilla-remote/gorilla-remote/chunkenc"
)

// Content type of a streamed remote-read answer.
const streamedContentType = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"

// frameWriter writes the frames of a streamed answer:
//
//	frame := uvarint(len(msg)) crc32c(msg) msg
//
// where crc32c is the big-endian Castagnoli checksum of msg and msg a
// serialized prometheus.ChunkedReadResponse. Each frame is flushed at once so
// the client can decode while the server reads on.
type frameWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	table   *crc32.Table
	buf     []byte
	written bool // whether any byte was sent, after which the status is fixed
	// extend sets the write deadline of the next frame.
	extend func(*http.ResponseController)
}

// write sends resp as one frame.
func (f *frameWriter) write(resp *prompb.ChunkedReadResponse) error {
	size := resp.Size()
	f.buf = binary.AppendUvarint(f.buf[:0], uint64(size))
	head := len(f.buf)
	f.buf = append(f.buf, make([]byte, 4+size)...)
	msg := f.buf[head+4:]
	if _, err := resp.MarshalToSizedBuffer(msg); err != nil {
		return fmt.Errorf("marshal frame: %w", err)
	}
	binary.BigEndian.PutUint32(f.buf[head:], crc32.Checksum(msg, f.table))
	if !f.written {
		f.w.Header().Set("Content-Type", streamedContentType)
		f.written = true
	}
	f.extend(f.rc)
	if _, err := f.w.Write(f.buf); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	if err := f.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("flush frame: %w", err)
	}
	return nil
}

// serveStreamed answers with frames of XOR chunks, query after query. A
// limit or storage error found before the first frame is sent gets a normal
// error answer; after it, the connection is aborted so the client sees a
// broken stream rather than a short one it could take for complete.
func (h *readHandler) serveStreamed(w http.ResponseWriter, ctx context.Context, queries []query) int {
	fw := &frameWriter{w: w, rc: http.NewResponseController(w), table: crc32.MakeTable(crc32.Castagnoli), extend: h.extendWrite}
	for i := range queries {
		err := h.streamQuery(ctx, fw, int64(i), &queries[i])
		if err == nil {
			continue
		}
		if !fw.written {
			return h.fail(w, h.queryError(i, err))
		}
		h.opts.Logger.Warn("remote read stream aborted", slog.Int("query", i), slog.Any("err", err))
		panic(http.ErrAbortHandler)
	}
	if !fw.written {
		// No series at all: still a valid, empty stream.
		w.Header().Set("Content-Type", streamedContentType)
		h.extendWrite(fw.rc)
		w.WriteHeader(http.StatusOK)
	}
	return http.StatusOK
}

// streamQuery sends the chunks of one query. Series are packed into frames
// of at most MaxBytesInFrame chunk bytes; a series larger than that is split
// over frames that repeat its labels.
func (h *readHandler) streamQuery(ctx context.Context, fw *frameWriter, idx int64, q *query) error {
	cq, err := h.q.ChunkQuerier(q.hints.Start, q.hints.End)
	if err != nil {
		return fmt.Errorf("open chunk querier: %w", err)
	}
	defer cq.Close()
	// Sorted, because the client merges the stream with other sources.
	ss := cq.Select(ctx, true, &q.hints, q.matchers...)
	resp := &prompb.ChunkedReadResponse{QueryIndex: idx}
	frameBytes, total := 0, 0
	flush := func() error {
		if len(resp.ChunkedSeries) == 0 {
			return nil
		}
		// Checked before every frame, so that a store missing data it
		// knows of is answered 503 rather than with a short stream.
		if err := unavailable(ss.Warnings()); err != nil {
			return err
		}
		err := fw.write(resp)
		resp.ChunkedSeries, frameBytes = resp.ChunkedSeries[:0], 0
		return err
	}
	var it chunks.Iterator
	for ss.Next() {
		s := ss.At()
		cs := &prompb.ChunkedSeries{Labels: prompb.FromLabels(s.Labels(), nil)}
		resp.ChunkedSeries = append(resp.ChunkedSeries, cs)
		it = s.Iterator(it)
		for it.Next() {
			c, n, err := cutChunk(it.At(), q.hints.Start, q.hints.End)
			if err != nil {
				return fmt.Errorf("series %s: %w", s.Labels(), err)
			}
			if c == nil {
				continue
			}
			if total += n; total > h.opts.MaxSamplesPerQuery {
				return errLimit
			}
			cs.Chunks = append(cs.Chunks, *c)
			if frameBytes += len(c.Data); frameBytes >= h.opts.MaxBytesInFrame {
				if err := flush(); err != nil {
					return err
				}
				cs = &prompb.ChunkedSeries{Labels: cs.Labels}
				resp.ChunkedSeries = append(resp.ChunkedSeries, cs)
			}
		}
		if err := it.Err(); err != nil {
			return fmt.Errorf("iterate chunks of %s: %w", s.Labels(), err)
		}
		if len(cs.Chunks) == 0 {
			resp.ChunkedSeries = resp.ChunkedSeries[:len(resp.ChunkedSeries)-1]
		}
	}
	if err := ss.Err(); err != nil {
		return fmt.Errorf("select: %w", err)
	}
	if err := unavailable(ss.Warnings()); err != nil {
		return err
	}
	return flush()
}

// cutChunk returns the chunk to send for m and its sample count, or nil
// when m has nothing inside [mint, maxt] or is of an encoding remote read
// does not carry. Float chunks are XOR; native histograms are sent in the
// Prometheus histogram and float histogram encodings they are stored in.
//
// A chunk inside the range is sent byte for byte as stored; one that
// reaches beyond the range is cut to it (cutToRange).
func cutChunk(m chunks.Meta, mint, maxt int64) (*prompb.Chunk, int, error) {
	if m.Chunk == nil || m.MaxTime < mint || m.MinTime > maxt {
		return nil, 0, nil
	}
	if typ, ok := histChunkType(m.Chunk.Encoding()); ok {
		if m.MinTime >= mint && m.MaxTime <= maxt {
			return &prompb.Chunk{MinTimeMs: m.MinTime, MaxTimeMs: m.MaxTime, Type: typ, Data: m.Chunk.Bytes()}, m.Chunk.NumSamples(), nil
		}
		return cutHistToRange(m, typ, mint, maxt)
	}
	if m.Chunk.Encoding() != chunkenc.EncXOR {
		return nil, 0, nil
	}
	if m.MinTime >= mint && m.MaxTime <= maxt {
		return &prompb.Chunk{MinTimeMs: m.MinTime, MaxTimeMs: m.MaxTime, Type: prompb.Chunk_XOR, Data: m.Chunk.Bytes()}, m.Chunk.NumSamples(), nil
	}
	return cutToRange(m, mint, maxt)
}

// cutToRange re-encodes the samples of a chunk that reaches beyond
// [mint, maxt] into a new XOR chunk holding only those inside the range, so
// the client receives no data it did not ask for. The stored chunk is read
// through its own iterator; the new one is written by our encoder, which
// produces Prometheus XOR bytes.
func cutToRange(m chunks.Meta, mint, maxt int64) (*prompb.Chunk, int, error) {
	out := xorchunk.NewXORChunk()
	app, err := out.Appender()
	if err != nil {
		return nil, 0, fmt.Errorf("cut chunk [%d, %d]: %w", m.MinTime, m.MaxTime, err)
	}
	n := 0
	first, last := int64(0), int64(0)
	it := m.Chunk.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		t, v := it.At()
		if t < mint {
			continue
		}
		if t > maxt {
			break
		}
		if err := app.Append(t, v); err != nil {
			return nil, 0, fmt.Errorf("cut chunk [%d, %d] at %d: %w", m.MinTime, m.MaxTime, t, err)
		}
		if n == 0 {
			first = t
		}
		last = t
		n++
	}
	if err := it.Err(); err != nil {
		return nil, 0, fmt.Errorf("read chunk [%d, %d]: %w", m.MinTime, m.MaxTime, err)
	}
	if n == 0 {
		return nil, 0, nil
	}
	return &prompb.Chunk{MinTimeMs: first, MaxTimeMs: last, Type: prompb.Chunk_XOR, Data: out.Bytes()}, n, nil
}
