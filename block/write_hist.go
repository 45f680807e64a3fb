package block

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Native histogram chunks go into blocks as stored: the Prometheus
// histogram and float histogram encodings (docs/format/block.md), beside
// the series' XOR chunks, so Prometheus and promtool read them.

// checkHistChunks validates the histogram chunks of s for Write and counts
// them into st: in time order without overlap, inside [mint, maxt), each
// at least its 2-byte sample count.
func checkHistChunks(s model.ChunkSeries, mint, maxt int64, st *Stats) error {
	last := int64(0)
	for j, c := range s.Histograms {
		switch {
		case c.MinT < mint || c.MaxT >= maxt:
			return fmt.Errorf("series %s: histogram chunk %d [%d, %d] outside the block", s.Labels, j, c.MinT, c.MaxT)
		case c.MaxT < c.MinT:
			return fmt.Errorf("series %s: histogram chunk %d ends at %d before it starts at %d", s.Labels, j, c.MaxT, c.MinT)
		case j > 0 && c.MinT <= last:
			return fmt.Errorf("series %s: histogram chunk %d starts at %d, not after the previous chunk's end %d", s.Labels, j, c.MinT, last)
		case len(c.Data) < 2:
			return fmt.Errorf("series %s: histogram chunk %d has %d bytes", s.Labels, j, len(c.Data))
		}
		last = c.MaxT
		n := uint64(binary.BigEndian.Uint16(c.Data))
		st.NumSamples += n
		st.NumHistogramSamples += n
		st.NumChunks++
	}
	return nil
}

// appendHistMetas appends the histogram chunks of s to metas, the
// series' encoded float chunks, sorted by start time as the index wants a
// series' chunks. The index refuses overlapping chunks: when the series
// switched between floats and histograms inside a chunk's time range, its
// samples are cut again, from the chunks as given, into chunks of one type
// each (recut), the float ones XOR whatever the block's encoding.
func appendHistMetas(metas []chunks.Meta, s model.ChunkSeries) ([]chunks.Meta, error) {
	if len(s.Histograms) == 0 {
		return metas, nil
	}
	hist := make([]chunks.Meta, 0, len(s.Histograms))
	for _, c := range s.Histograms {
		chk, err := pchunkenc.FromData(histEncoding(c), c.Data)
		if err != nil {
			return metas, fmt.Errorf("histogram chunk [%d, %d]: %w", c.MinT, c.MaxT, err)
		}
		hist = append(hist, chunks.Meta{Chunk: chk, MinTime: c.MinT, MaxTime: c.MaxT})
	}
	if overlapping(s) {
		given := make([]chunks.Meta, 0, len(s.Chunks)+len(hist))
		for _, c := range s.Chunks {
			given = append(given, chunks.Meta{Chunk: storedChunk(c.Data), MinTime: c.MinT, MaxTime: c.MaxT})
		}
		return recut(append(given, hist...))
	}
	metas = append(metas, hist...)
	slices.SortStableFunc(metas, func(a, b chunks.Meta) int { return cmp.Compare(a.MinTime, b.MinTime) })
	return metas, nil
}

// overlapping reports whether a float chunk and a histogram chunk of s
// share part of their time ranges.
func overlapping(s model.ChunkSeries) bool {
	for _, f := range s.Chunks {
		for _, h := range s.Histograms {
			if f.MinT <= h.MaxT && h.MinT <= f.MaxT {
				return true
			}
		}
	}
	return false
}

// recut re-encodes the samples of overlapping float and histogram chunks
// in time order into chunks that each hold one type: XOR for floats, the
// Prometheus histogram encodings for histograms. At a timestamp held by
// both, the float is kept, as queries keep it.
func recut(in []chunks.Meta) ([]chunks.Meta, error) {
	var samples []cutSample
	for _, m := range in {
		it := m.Chunk.Iterator(nil)
		for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
			smp := cutSample{t: it.AtT(), vt: vt}
			switch vt {
			case pchunkenc.ValFloat:
				_, smp.v = it.At()
			case pchunkenc.ValHistogram:
				_, smp.h = it.AtHistogram(nil)
			case pchunkenc.ValFloatHistogram:
				_, smp.fh = it.AtFloatHistogram(nil)
			}
			samples = append(samples, smp)
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("read chunk [%d, %d]: %w", m.MinTime, m.MaxTime, err)
		}
	}
	slices.SortStableFunc(samples, func(a, b cutSample) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(floatFirst(a.vt), floatFirst(b.vt))
	})
	var cw chunkWriter
	for i, smp := range samples {
		if i > 0 && smp.t == samples[i-1].t {
			continue
		}
		if err := cw.add(smp); err != nil {
			return nil, err
		}
	}
	return cw.finish(), nil
}

// floatFirst orders floats before histograms at one timestamp.
func floatFirst(vt pchunkenc.ValueType) int {
	if vt == pchunkenc.ValFloat {
		return 0
	}
	return 1
}

// cutSample is one sample of any type.
type cutSample struct {
	t  int64
	vt pchunkenc.ValueType
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// chunkWriter appends samples of changing types, one chunk per run.
type chunkWriter struct {
	out  []chunks.Meta
	vt   pchunkenc.ValueType // of the open chunk; ValNone when none
	xor  *chunkenc.XORChunk
	xapp *chunkenc.Appender
	hc   pchunkenc.Chunk
	happ pchunkenc.Appender
	mint int64
	maxt int64
}

func (w *chunkWriter) add(s cutSample) error {
	if s.vt != w.vt || (s.vt == pchunkenc.ValFloat && w.xor.NumSamples() >= chunkenc.MaxSamples) {
		if err := w.open(s); err != nil {
			return err
		}
	}
	prev := w.maxt
	w.maxt = s.t
	if s.vt == pchunkenc.ValFloat {
		return w.xapp.Append(s.t, s.v)
	}
	var (
		nc      pchunkenc.Chunk
		recoded bool
		err     error
	)
	if s.vt == pchunkenc.ValHistogram {
		nc, recoded, w.happ, err = w.happ.AppendHistogram(nil, 0, s.t, s.h, false)
	} else {
		nc, recoded, w.happ, err = w.happ.AppendFloatHistogram(nil, 0, s.t, s.fh, false)
	}
	switch {
	case err != nil:
		return fmt.Errorf("append histogram at %d: %w", s.t, err)
	case nc != nil && recoded:
		w.hc = nc
	case nc != nil:
		// A counter reset or a new bucket layout cut a chunk: the old one
		// ended at the previous sample.
		w.out = append(w.out, chunks.Meta{Chunk: w.hc, MinTime: w.mint, MaxTime: prev})
		w.hc, w.mint = nc, s.t
	}
	return nil
}

// open ends the open chunk and starts one for s's type.
func (w *chunkWriter) open(s cutSample) error {
	w.flush()
	w.vt, w.mint = s.vt, s.t
	var err error
	switch s.vt {
	case pchunkenc.ValFloat:
		w.xor = chunkenc.NewXORChunk()
		w.xapp, err = w.xor.Appender()
	case pchunkenc.ValHistogram:
		w.hc = pchunkenc.NewHistogramChunk()
		w.happ, err = w.hc.Appender()
	default:
		w.hc = pchunkenc.NewFloatHistogramChunk()
		w.happ, err = w.hc.Appender()
	}
	return err
}

func (w *chunkWriter) flush() {
	switch w.vt {
	case pchunkenc.ValNone:
		return
	case pchunkenc.ValFloat:
		w.xor.Compact()
		w.out = append(w.out, chunks.Meta{Chunk: storedChunk(w.xor.Bytes()), MinTime: w.mint, MaxTime: w.maxt})
	default:
		w.out = append(w.out, chunks.Meta{Chunk: w.hc, MinTime: w.mint, MaxTime: w.maxt})
	}
	w.vt = pchunkenc.ValNone
}

func (w *chunkWriter) finish() []chunks.Meta {
	w.flush()
	return w.out
}

// histEncoding returns the Prometheus encoding of a histogram chunk.
func histEncoding(c model.HistogramChunk) pchunkenc.Encoding {
	if c.Float {
		return pchunkenc.EncFloatHistogram
	}
	return pchunkenc.EncHistogram
}

// isHistEncoding reports whether e is one of the histogram encodings.
func isHistEncoding(e pchunkenc.Encoding) bool {
	return e == pchunkenc.EncHistogram || e == pchunkenc.EncFloatHistogram
}
