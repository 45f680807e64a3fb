package head

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// checkpointBatchBytes bounds the records a checkpoint writes at once.
const checkpointBatchBytes = 1 << 20

// Checkpoint writes every live series and the samples held in memory that
// are not yet in an uploaded block into a WAL checkpoint, and deletes the
// segments it replaces. Samples are written as their Gorilla chunks, about
// 1.5 bytes each instead of the WAL's 10 to 12, so a checkpoint is small and
// replays without decoding.
//
// Under Options.Shipping the windows reported uploaded (SetShipped) are left
// out: over a long run the head holds many sealed windows, and copying them
// into every checkpoint would rewrite gigabytes each time a window closes.
// The series themselves stay (their refs are named by the segments kept);
// after a restart LoadSealed brings the uploaded windows back from their
// blocks. Windows sealed but not yet uploaded stay in the checkpoint, so
// the WAL may be truncated whatever the state of the uploads.
//
// The WAL is cut first, with commits held off for that instant, so that every
// commit logged in a segment the checkpoint replaces is already in memory
// when the snapshot is taken. Commits logged after the cut may be in the
// snapshot as well; replaying them again is harmless, since a sample equal to
// a stored one is accepted once.
func (h *Head) Checkpoint(ctx context.Context) error {
	h.checkpointMu.Lock()
	defer h.checkpointMu.Unlock()
	if h.closed.Load() {
		return model.ErrClosed
	}
	start := time.Now()
	h.commitMu.Lock()
	seg, err := h.wal.Cut()
	h.commitMu.Unlock()
	if err != nil {
		return fmt.Errorf("cut WAL for checkpoint: %w", err)
	}
	mt := h.maxTime.Load()
	uploaded := h.uploadedBefore()
	cw := checkpointWriter{ctx: ctx, h: h, uploadedBefore: uploaded}
	if err := h.wal.Checkpoint(seg-1, cw.write); err != nil {
		return fmt.Errorf("checkpoint up to segment %d: %w", seg-1, err)
	}
	h.checkpointWindow = h.closedWindow(mt)
	h.shippedAtCkpt = uploaded
	h.walAtCheckpoint = int64(h.wal.Stats().RecordBytes)
	h.metrics.checkpoints.Inc()
	h.opts.Logger.Info("WAL checkpoint written", "dir", filepath.Join(h.wal.Dir(), fmt.Sprintf("checkpoint.%08d", seg-1)),
		"series", cw.series, "chunks", cw.chunks, "uploaded_chunks_left_out", cw.skipped,
		"uploaded_before", uploaded, "seconds", time.Since(start).Seconds())
	return nil
}

// checkpointWriter snapshots series in batches and logs them.
type checkpointWriter struct {
	ctx            context.Context // stops the snapshot between batches
	h              *Head
	uploadedBefore int64 // data before it is in uploaded blocks: left out
	series         int
	chunks         int
	skipped        int // chunks left out
	sr             []*memSeries
	cr             []chunkRecord
	hr             []histChunkRecord
	or             []sampleRecord
	er             []exemplarRecord
	pendingBytes   int
	buf            []byte
}

func (cw *checkpointWriter) write(log func(rec []byte) error) error {
	var err error
	cw.h.series.forEach(func(s *memSeries) {
		if err != nil {
			return
		}
		cw.add(s)
		if cw.pendingBytes >= checkpointBatchBytes {
			if err = cw.ctx.Err(); err == nil {
				err = cw.flush(log)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := cw.flush(log); err != nil {
		return err
	}
	var ms []metadataRecord
	for fam, m := range cw.h.Metadata() {
		ms = append(ms, metadataRecord{Family: fam, Meta: m})
	}
	if len(ms) == 0 {
		return nil
	}
	return log(encodeMetadata(nil, ms))
}

// add snapshots one series. The open chunk is copied: its last byte and
// its sample count still change under appends.
func (cw *checkpointWriter) add(s *memSeries) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A series without data is kept too: a commit that logged it may be in
	// a replaced segment while its later samples are in the segments kept.
	if s.removed {
		return
	}
	cw.sr = append(cw.sr, s)
	for _, c := range s.chunks {
		// Chunks never cross a window and the bound is a window's start:
		// a chunk is wholly uploaded or not at all.
		if c.maxt < cw.uploadedBefore {
			cw.skipped++
			continue
		}
		data := c.chunk.Bytes()
		if c.app != nil {
			data = append([]byte(nil), data...)
		}
		cw.cr = append(cw.cr, chunkRecord{Ref: s.ref, MinT: c.mint, MaxT: c.maxt, Data: data})
		cw.chunks++
		cw.pendingBytes += len(data)
	}
	cw.addHists(s)
	for _, smp := range s.oooSamples() {
		if smp.T < cw.uploadedBefore {
			continue // merged into the uploaded block when it was sealed
		}
		cw.or = append(cw.or, sampleRecord{Ref: s.ref, T: smp.T, V: smp.V})
	}
	if s.exemplarBuf() != nil {
		for _, e := range s.exemplarBuf().buf {
			cw.er = append(cw.er, exemplarRecord{Ref: s.ref, E: e})
		}
	}
	cw.series++
	cw.pendingBytes += 64 + 16*len(s.oooSamples())
}

// flush logs the batch: series, then their chunks, then their out-of-order
// samples, which replay must apply after the chunks.
func (cw *checkpointWriter) flush(log func(rec []byte) error) error {
	type part struct {
		n   int
		enc func(b []byte) []byte
	}
	parts := []part{
		{len(cw.sr), func(b []byte) []byte { return encodeSeriesSyms(b, cw.sr, cw.h.syms) }},
		{len(cw.cr), func(b []byte) []byte { return encodeChunkRecord(b, cw.cr) }},
		{len(cw.hr), func(b []byte) []byte { return encodeHistChunks(b, cw.hr) }},
		{len(cw.or), func(b []byte) []byte { return encodeSamples(b, cw.or) }},
		{len(cw.er), func(b []byte) []byte { return encodeExemplars(b, cw.er) }},
	}
	for _, p := range parts {
		if p.n == 0 {
			continue
		}
		cw.buf = p.enc(cw.buf[:0])
		if err := log(cw.buf); err != nil {
			return err
		}
	}
	clear(cw.sr)
	cw.sr, cw.cr, cw.or, cw.er = cw.sr[:0], cw.cr[:0], cw.or[:0], cw.er[:0]
	clear(cw.hr)
	cw.hr = cw.hr[:0]
	cw.pendingBytes = 0
	return nil
}

// addHists snapshots the histogram chunks of one series: every one in
// memory, uploaded windows included. After a restart LoadSealed brings back
// the float chunks of uploaded windows only, and the head then answers for
// those windows, so their histograms must come from the checkpoint.
// The caller holds s.mu.
func (cw *checkpointWriter) addHists(s *memSeries) {
	if s.histData() == nil {
		return
	}
	for _, c := range s.histData().chunks {
		data := c.chunk.Bytes()
		if c.app != nil {
			data = append([]byte(nil), data...)
		}
		cw.hr = append(cw.hr, histChunkRecord{Ref: s.ref, MinT: c.mint, MaxT: c.maxt, Encoding: c.chunk.Encoding(), Data: data})
		cw.chunks++
		cw.pendingBytes += len(data)
	}
}
