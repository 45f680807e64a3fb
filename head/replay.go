package head

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// replayer rebuilds the head from a checkpoint and the WAL segments after
// it. It runs before the head is shared, alone: it reads and decodes the
// records and the shard workers (replay_shards.go) create the series and
// append the samples.
type replayer struct {
	h *Head
	// shards maps a WAL ref to its series. A ref logged twice for one label
	// set (a series dropped and created again) maps to the series that holds
	// those labels now.
	shards  *replayShards
	reopen  map[*memSeries]struct{} // series whose newest chunk came from a checkpoint
	scratch labels.ScratchBuilder

	series     []seriesRecord
	samples    []sampleRecord
	chunks     []chunkRecord
	meta       []metadataRecord
	exemplars  []exemplarRecord
	hists      []histRecord
	histChunks []histChunkRecord

	records, nSeries, nSamples, nChunks, unknownRefs int
	outOfRange                                       outOfRange
	// accepted is set while a checkpoint is read: its samples records hold
	// out-of-order samples the head had taken, which the out-of-order
	// window of their series' newest sample must not refuse again.
	accepted bool
}

func (h *Head) replay(dir string) error {
	start := time.Now()
	r := &replayer{h: h, shards: newReplayShards(h), reopen: map[*memSeries]struct{}{}}
	stopped := false
	defer func() {
		if !stopped {
			r.shards.stop()
		}
	}()
	cpPath, upTo, err := wal.LastCheckpoint(dir)
	switch {
	case errors.Is(err, wal.ErrNoCheckpoint):
		upTo = -1
	case err != nil:
		return fmt.Errorf("find checkpoint: %w", err)
	default:
		cr, err := wal.NewCheckpointReader(cpPath, h.wal.Codecs()...)
		if err != nil {
			return fmt.Errorf("open checkpoint %s: %w", cpPath, err)
		}
		r.setAccepted(true)
		err = r.read(cr) // settles: every sample is in before the flag drops
		r.setAccepted(false)
		if cerr := cr.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", cpPath, err)
		}
		r.reopenChunks()
		created, _, _ := r.shards.totals()
		h.opts.Logger.Info("checkpoint replayed", "checkpoint", cpPath, "series", created, "chunks", r.nChunks)
	}
	first, last, err := h.wal.Segments()
	if err != nil {
		return err
	}
	if last >= 0 {
		h.replayed = [2]int{max(first, upTo+1), last}
	}
	sr, err := wal.NewReader(dir, max(first, upTo+1), -1, h.wal.Codecs()...)
	if err != nil {
		return fmt.Errorf("open WAL segments: %w", err)
	}
	err = r.read(sr)
	if cerr := sr.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	stopped = true
	r.shards.stop()
	r.shards.buildIndex()
	r.finish(start)
	return nil
}

// finish adds up what the workers did and logs it.
func (r *replayer) finish(start time.Time) {
	created, appended, unknown := r.shards.totals()
	r.nSeries += created
	r.nSamples += appended
	r.unknownRefs += unknown
	for _, w := range r.shards.workers {
		r.outOfRange.merge(&w.outOfRange)
	}
	r.outOfRange.report(r.h.opts.Logger)
	secs := time.Since(start).Seconds()
	r.h.opts.Logger.Info("WAL replay done", "records", r.records, "series", r.nSeries, "samples", r.nSamples,
		"chunks", r.nChunks, "unknown_refs", r.unknownRefs, "seconds", secs)
}

// read applies every record of one reader.
func (r *replayer) read(rd *wal.Reader) error {
	defer r.settle()
	for rd.Next() {
		r.records++
		if err := r.apply(rd.Record()); err != nil {
			return fmt.Errorf("segment %d offset %d: %w", rd.Segment(), rd.Offset(), err)
		}
	}
	return rd.Err()
}

func (r *replayer) apply(rec []byte) error {
	var err error
	switch recordType(rec) {
	case recSeries:
		r.series, err = decodeSeries(rec, r.series[:0], &r.scratch)
		r.applySeries()
	case recSamples:
		r.samples, err = decodeSamples(rec, r.samples[:0])
		r.applySamples()
	case recChunks:
		// Out-of-order samples of a series follow its chunks; earlier
		// samples must be in before chunks are attached.
		r.settle()
		r.chunks, err = decodeChunkRecord(rec, r.chunks[:0])
		if err == nil {
			err = r.applyChunks()
		}
	case recHistograms, recFloatHistograms:
		r.settle()
		r.hists, err = decodeHistograms(rec, r.hists[:0])
		r.applyHists()
	case recHistChunks:
		r.settle()
		r.histChunks, err = decodeHistChunks(rec, r.histChunks[:0])
		if err == nil {
			err = r.applyHistChunks()
		}
	case recMetadata:
		r.meta, err = decodeMetadata(rec, r.meta[:0])
		r.h.setMetadata(r.meta)
	case recExemplars:
		r.settle()
		r.exemplars, err = decodeExemplars(rec, r.exemplars[:0], &r.scratch)
		for _, e := range r.exemplars {
			if s := r.shards.get(e.Ref); s != nil && r.outOfRange.keep(r.h, s, e.E.T, &r.outOfRange.exemplars) {
				e.Ref = s.ref
				r.h.addExemplar(e)
			}
		}
	default:
		err = fmt.Errorf("%w: unknown record type %d", errRecord, recordType(rec))
	}
	return err
}

// applySeries hands the series of the record just decoded whose refs are
// new to their workers. A ref seen before keeps its series.
func (r *replayer) applySeries() {
	h := r.h
	next := h.nextRef.Load()
	for _, sr := range r.series {
		if r.shards.ownerOf(sr.Ref) != nil {
			continue
		}
		r.shards.addSeries(sr.Ref, sr.Labels)
		next = max(next, uint64(sr.Ref))
	}
	h.nextRef.Store(next)
	clear(r.series)
	r.shards.send()
}

// applySamples hands the samples of the record just decoded to the workers
// of their series.
func (r *replayer) applySamples() {
	for _, smp := range r.samples {
		if !r.shards.addSample(smp) {
			r.unknownRefs++
		}
	}
	r.shards.send()
}

// setAccepted sets r.accepted, for the shard workers too.
func (r *replayer) setAccepted(accepted bool) {
	r.accepted = accepted
	r.shards.accepted.Store(accepted)
}

// settle waits until every dispatched sample is appended.
func (r *replayer) settle() {
	r.shards.wait()
}

// applyChunks attaches checkpointed chunks to their series. Chunks of a
// series arrive in time order; they are attached closed and the newest one
// is reopened for appending once the checkpoint is read.
func (r *replayer) applyChunks() error {
	h := r.h
	for _, cr := range r.chunks {
		s := r.shards.get(cr.Ref)
		if s == nil {
			r.unknownRefs++
			continue
		}
		// A chunk holds one window; one outside the range holds nothing
		// the head may keep.
		if !r.outOfRange.keep(h, s, cr.MinT, &r.outOfRange.chunks) || !r.outOfRange.keep(h, s, cr.MaxT, &r.outOfRange.chunks) {
			continue
		}
		c, err := chunkenc.FromBytes(append([]byte(nil), cr.Data...))
		if err != nil {
			return fmt.Errorf("chunk of series %d: %w", cr.Ref, err)
		}
		s.mu.Lock()
		s.chunks = append(s.chunks, &memChunk{chunk: c, mint: cr.MinT, maxt: cr.MaxT, window: h.appOpts.win.Of(cr.MinT)})
		if cr.MaxT >= s.maxT || len(s.chunks) == 1 {
			s.maxT = cr.MaxT
			s.lastAppend = max(s.lastAppend, cr.MaxT)
			r.reopen[s] = struct{}{}
		}
		s.mu.Unlock()
		h.noteTime(cr.MaxT)
		h.noteMinTime(cr.MinT)
		r.nChunks++
	}
	return nil
}

// reopenChunks decodes the newest chunk of each checkpointed series to learn
// its last value and to append to it again.
func (r *replayer) reopenChunks() {
	for s := range r.reopen {
		s.mu.Lock()
		last := s.chunks[len(s.chunks)-1]
		it := last.chunk.Iterator(nil)
		for it.Next() {
			_, s.lastV = it.At()
		}
		if app, err := last.chunk.Appender(); err == nil {
			last.app = app
		}
		s.mu.Unlock()
	}
	clear(r.reopen)
}

// refMap maps WAL refs to series during replay. Refs are handed out densely
// from 1, so a slice serves nearly all of them; the map holds the rest.
type refMap struct {
	dense  []*memSeries
	sparse map[model.SeriesRef]*memSeries
}

// maxDenseRef bounds the slice (8 bytes a ref).
const maxDenseRef = 1 << 26

func (m *refMap) get(ref model.SeriesRef) *memSeries {
	if uint64(ref) < uint64(len(m.dense)) {
		return m.dense[ref]
	}
	return m.sparse[ref]
}

func (m *refMap) set(ref model.SeriesRef, s *memSeries) {
	if ref >= maxDenseRef {
		m.sparse[ref] = s
		return
	}
	if int(ref) >= len(m.dense) {
		m.dense = append(m.dense, make([]*memSeries, int(ref)+1-len(m.dense)+len(m.dense)/2)...)
	}
	m.dense[ref] = s
}
