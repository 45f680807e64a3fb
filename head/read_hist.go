package head

import (
	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// HistChunk is one native histogram chunk of a series with the time range
// it covers. Data is in the Prometheus encoding named by Encoding
// (EncHistogram or EncFloatHistogram, docs/format/chunk.md) and must not be
// modified.
type HistChunk struct {
	MinT, MaxT int64
	Encoding   pchunkenc.Encoding
	Data       []byte
}

// Chunk returns the chunk decoded for reading.
func (c HistChunk) Chunk() (pchunkenc.Chunk, error) {
	return pchunkenc.FromData(c.Encoding, c.Data)
}

// model returns the chunk as the block package takes it.
func (c HistChunk) model() model.HistogramChunk {
	return model.HistogramChunk{MinT: c.MinT, MaxT: c.MaxT, Float: c.Encoding == pchunkenc.EncFloatHistogram, Data: c.Data}
}

// FromModel returns a chunk read from a block as a HistChunk.
func FromModel(c model.HistogramChunk) HistChunk {
	enc := pchunkenc.EncHistogram
	if c.Float {
		enc = pchunkenc.EncFloatHistogram
	}
	return HistChunk{MinT: c.MinT, MaxT: c.MaxT, Encoding: enc, Data: c.Data}
}

// HistChunks returns the series' native histogram chunks overlapping the
// selected range, in time order; they may extend beyond it. A series
// without histograms returns nil. Floats and histograms of one series are
// kept apart: a reader merges them by time (no timestamp holds both).
func (s *Series) HistChunks() []HistChunk { return s.hist }

// snapshot copies the histogram chunks overlapping [mint, maxt]; the open
// one is copied, closed ones shared. hd may be nil. The caller holds the
// series' lock.
func (hd *histSeries) snapshot(mint, maxt int64) []HistChunk {
	if hd == nil {
		return nil
	}
	var out []HistChunk
	for _, c := range hd.chunks {
		if c.maxt < mint || c.mint > maxt {
			continue
		}
		data := c.chunk.Bytes()
		if c.app != nil {
			data = append([]byte(nil), data...)
		}
		out = append(out, HistChunk{MinT: c.mint, MaxT: c.maxt, Encoding: c.chunk.Encoding(), Data: data})
	}
	return out
}

// HistIterator returns an iterator over the series' native histograms in
// the selected range, in time order. It reports ValHistogram or
// ValFloatHistogram; a chunk that does not decode ends it with an error.
func (s *Series) HistIterator() pchunkenc.Iterator {
	return NewHistIterator(s.hist, s.mint, s.maxt)
}

// NewHistIterator returns an iterator over the histograms of chunks (in
// time order, not overlapping) that lie in [mint, maxt], as HistIterator.
func NewHistIterator(chunks []HistChunk, mint, maxt int64) pchunkenc.Iterator {
	return &histIterator{chunks: chunks, mint: mint, maxt: maxt}
}

// histIterator walks histogram chunks, limited to [mint, maxt].
type histIterator struct {
	chunks     []HistChunk
	mint, maxt int64
	it         pchunkenc.Iterator // of the current chunk; nil before the first
	cur        pchunkenc.ValueType
	err        error
}

func (it *histIterator) Next() pchunkenc.ValueType {
	for it.err == nil {
		if it.it != nil {
			if vt := it.it.Next(); vt != pchunkenc.ValNone {
				t := it.it.AtT()
				if t < it.mint {
					continue
				}
				if t > it.maxt {
					break
				}
				it.cur = vt
				return vt
			}
			if it.err = it.it.Err(); it.err != nil {
				break
			}
		}
		if len(it.chunks) == 0 {
			break
		}
		c, err := it.chunks[0].Chunk()
		if err != nil {
			it.err = err
			break
		}
		it.chunks = it.chunks[1:]
		it.it = c.Iterator(it.it)
	}
	it.cur, it.chunks = pchunkenc.ValNone, nil
	return pchunkenc.ValNone
}

func (it *histIterator) Seek(t int64) pchunkenc.ValueType {
	if it.cur != pchunkenc.ValNone && it.it.AtT() >= t {
		return it.cur
	}
	for {
		vt := it.Next()
		if vt == pchunkenc.ValNone || it.it.AtT() >= t {
			return vt
		}
	}
}

func (it *histIterator) At() (int64, float64) { panic("BUG: At on a histogram iterator") }

func (it *histIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.it.AtHistogram(h)
}

func (it *histIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.it.AtFloatHistogram(fh)
}

func (it *histIterator) AtT() int64  { return it.it.AtT() }
func (it *histIterator) AtST() int64 { return 0 }
func (it *histIterator) Err() error  { return it.err }
