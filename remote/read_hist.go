package remote

import (
	"fmt"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// histChunkType returns the remote-read chunk type of a native histogram
// chunk encoding, or false for other encodings.
func histChunkType(e chunkenc.Encoding) (prompb.Chunk_Encoding, bool) {
	switch e {
	case chunkenc.EncHistogram:
		return prompb.Chunk_HISTOGRAM, true
	case chunkenc.EncFloatHistogram:
		return prompb.Chunk_FLOAT_HISTOGRAM, true
	}
	return 0, false
}

// cutHistToRange re-encodes the histograms of a chunk that reaches beyond
// [mint, maxt] into a chunk of the same encoding holding only those inside
// the range (see cutToRange).
func cutHistToRange(m chunks.Meta, typ prompb.Chunk_Encoding, mint, maxt int64) (*prompb.Chunk, int, error) {
	out, err := chunkenc.NewEmptyChunk(m.Chunk.Encoding())
	if err != nil {
		return nil, 0, fmt.Errorf("cut chunk [%d, %d]: %w", m.MinTime, m.MaxTime, err)
	}
	app, err := out.Appender()
	if err != nil {
		return nil, 0, fmt.Errorf("cut chunk [%d, %d]: %w", m.MinTime, m.MaxTime, err)
	}
	n := 0
	first, last := int64(0), int64(0)
	it := m.Chunk.Iterator(nil)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		t := it.AtT()
		if t < mint {
			continue
		}
		if t > maxt {
			break
		}
		var nc chunkenc.Chunk
		recoded := false
		switch vt {
		case chunkenc.ValHistogram:
			_, h := it.AtHistogram(nil)
			nc, recoded, app, err = app.AppendHistogram(nil, 0, t, h, false)
		case chunkenc.ValFloatHistogram:
			_, fh := it.AtFloatHistogram(nil)
			nc, recoded, app, err = app.AppendFloatHistogram(nil, 0, t, fh, false)
		default:
			err = fmt.Errorf("sample of type %s in a histogram chunk", vt)
		}
		if err == nil && nc != nil && !recoded {
			// The samples of one stored chunk fit one chunk again.
			err = fmt.Errorf("histogram at %d needs a new chunk", t)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("cut chunk [%d, %d] at %d: %w", m.MinTime, m.MaxTime, t, err)
		}
		if nc != nil {
			out = nc
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
	return &prompb.Chunk{MinTimeMs: first, MaxTimeMs: last, Type: typ, Data: out.Bytes()}, n, nil
}
