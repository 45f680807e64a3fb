package head

import (
	"fmt"
	"math"

	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// applyHists appends the histograms of the record just decoded. Every one
// was accepted when it was logged, so the out-of-order window does not
// apply again; retention does.
func (r *replayer) applyHists() {
	h := r.h
	o := h.currentAppendOpts()
	o.oooWindow = math.MaxInt64
	for _, hr := range r.hists {
		s := r.shards.get(hr.Ref)
		if s == nil {
			r.unknownRefs++
			continue
		}
		if !r.outOfRange.keep(h, s, hr.T, &r.outOfRange.samples) {
			continue
		}
		s.mu.Lock()
		err := s.appendHist(histSample{t: hr.T, h: hr.H, fh: hr.FH}, &o)
		if err == nil {
			s.lastAppend = max(s.lastAppend, hr.T)
		}
		s.mu.Unlock()
		if err == nil {
			r.nSamples++
			h.noteTime(hr.T)
			h.noteMinTime(hr.T)
		}
	}
	clear(r.hists)
}

// applyHistChunks attaches checkpointed histogram chunks to their series.
// Chunks of a series arrive in time order; the newest one is reopened for
// appending.
func (r *replayer) applyHistChunks() error {
	h := r.h
	for _, cr := range r.histChunks {
		s := r.shards.get(cr.Ref)
		if s == nil {
			r.unknownRefs++
			continue
		}
		if !r.outOfRange.keep(h, s, cr.MinT, &r.outOfRange.chunks) || !r.outOfRange.keep(h, s, cr.MaxT, &r.outOfRange.chunks) {
			continue
		}
		c, err := pchunkenc.FromData(cr.Encoding, append([]byte(nil), cr.Data...))
		if err != nil {
			return fmt.Errorf("histogram chunk of series %d: %w", cr.Ref, err)
		}
		hc := &histChunk{chunk: c, mint: cr.MinT, maxt: cr.MaxT, window: h.appOpts.win.Of(cr.MinT)}
		s.mu.Lock()
		hd := s.histOrNew()
		if len(hd.chunks) == 0 || cr.MinT > hd.maxT {
			if n := len(hd.chunks); n > 0 {
				hd.chunks[n-1].close()
			}
			hd.chunks = append(hd.chunks, hc)
			hd.maxT = cr.MaxT
			if app, err := c.Appender(); err == nil {
				hc.app = app
			}
			s.lastAppend = max(s.lastAppend, cr.MaxT)
		}
		// A chunk overlapping the ones held is already in them: a
		// checkpoint holds each chunk once.
		s.mu.Unlock()
		h.noteTime(cr.MaxT)
		h.noteMinTime(cr.MinT)
		r.nChunks++
	}
	return nil
}
