package block

import (
	"encoding/binary"
	"fmt"
	"slices"

	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

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

// appendHistMetas appends the histogram chunks hs to metas and sorts them
// all by start time, as the index wants a series' chunks.
func appendHistMetas(metas []chunks.Meta, hs []model.HistogramChunk) ([]chunks.Meta, error) {
	if len(hs) == 0 {
		return metas, nil
	}
	for _, c := range hs {
		chk, err := pchunkenc.FromData(histEncoding(c), c.Data)
		if err != nil {
			return metas, fmt.Errorf("histogram chunk [%d, %d]: %w", c.MinT, c.MaxT, err)
		}
		metas = append(metas, chunks.Meta{Chunk: chk, MinTime: c.MinT, MaxTime: c.MaxT})
	}
	slices.SortStableFunc(metas, func(a, b chunks.Meta) int {
		switch {
		case a.MinTime < b.MinTime:
			return -1
		case a.MinTime > b.MinTime:
			return 1
		}
		return 0
	})
	return metas, nil
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
