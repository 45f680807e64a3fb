package query

import (
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// WithTombstones makes every read of the Queryable leave out the samples
// that ts deletes: samples, series (a series with no sample left in the
// range is not returned) and chunks (a chunk a tombstone cuts is
// re-encoded without the deleted samples; the others are sent as stored).
// Label names and values are not masked: they come from the indexes, as in
// Prometheus until its compaction.
func WithTombstones(ts *Tombstones) Option { return func(q *Queryable) { q.tombs = ts } }

// interval is a deleted time range, both ends inclusive.
type interval struct{ mint, maxt int64 }

// mergeIntervals sorts ivs and merges those that overlap or touch.
func mergeIntervals(ivs []interval) []interval {
	if len(ivs) < 2 {
		return ivs
	}
	slices.SortFunc(ivs, func(a, b interval) int {
		switch {
		case a.mint < b.mint:
			return -1
		case a.mint > b.mint:
			return 1
		}
		return 0
	})
	out := ivs[:1]
	for _, iv := range ivs[1:] {
		last := &out[len(out)-1]
		// iv.mint-1 is computed only when iv.mint > last.maxt, so it
		// cannot overflow.
		if iv.mint <= last.maxt || iv.mint-1 <= last.maxt {
			last.maxt = max(last.maxt, iv.maxt)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// covers reports whether t lies in one of the sorted intervals ivs.
func covers(ivs []interval, t int64) bool {
	for _, iv := range ivs {
		if t < iv.mint {
			return false
		}
		if t <= iv.maxt {
			return true
		}
	}
	return false
}

// overlaps reports whether [mint, maxt] meets one of the intervals ivs.
func overlaps(ivs []interval, mint, maxt int64) bool {
	for _, iv := range ivs {
		if iv.mint <= maxt && iv.maxt >= mint {
			return true
		}
	}
	return false
}

// maskParts sets the deleted intervals of each part read over [mint, maxt]
// and leaves out the parts with no sample left. A part whose samples do not
// decode is kept: reading it reports the error.
func (q *Queryable) maskParts(parts []part, mint, maxt int64) []part {
	if q.tombs == nil || len(q.tombs.List()) == 0 {
		return parts
	}
	return parts[:q.maskEach(parts, mint, maxt)]
}

// maskEach masks parts in place, moving the kept ones to the front, and
// returns how many are kept.
func (q *Queryable) maskEach(parts []part, mint, maxt int64) int {
	n := 0
	for i := range parts {
		p := &parts[i]
		p.deleted = q.tombs.intervals(AnonymousTenant, p.labels, mint, maxt)
		if p.deleted != nil && !hasSample(p) {
			continue
		}
		parts[n] = *p
		n++
	}
	return n
}

// hasSample reports whether the masked part keeps a sample, or fails to
// decode.
func hasSample(p *part) bool {
	it := (&sampleSeries{p: p}).Iterator(nil)
	return it.Next() != pchunkenc.ValNone || it.Err() != nil
}

// maskedIterator leaves out the samples of it that lie in ivs.
type maskedIterator struct {
	it  pchunkenc.Iterator
	ivs []interval // sorted, merged; those wholly before the current sample are dropped
}

func newMaskedIterator(it pchunkenc.Iterator, ivs []interval) pchunkenc.Iterator {
	if len(ivs) == 0 {
		return it
	}
	return &maskedIterator{it: it, ivs: ivs}
}

// skip moves past deleted samples from the current one, whose type is vt.
func (m *maskedIterator) skip(vt pchunkenc.ValueType) pchunkenc.ValueType {
	for vt != pchunkenc.ValNone {
		t := m.it.AtT()
		for len(m.ivs) > 0 && m.ivs[0].maxt < t {
			m.ivs = m.ivs[1:]
		}
		if len(m.ivs) == 0 || t < m.ivs[0].mint {
			return vt
		}
		vt = m.it.Next()
	}
	return vt
}

func (m *maskedIterator) Next() pchunkenc.ValueType        { return m.skip(m.it.Next()) }
func (m *maskedIterator) Seek(t int64) pchunkenc.ValueType { return m.skip(m.it.Seek(t)) }
func (m *maskedIterator) At() (int64, float64)             { return m.it.At() }
func (m *maskedIterator) AtT() int64                       { return m.it.AtT() }
func (m *maskedIterator) AtST() int64                      { return m.it.AtST() }
func (m *maskedIterator) Err() error                       { return m.it.Err() }

func (m *maskedIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return m.it.AtHistogram(h)
}

func (m *maskedIterator) AtFloatHistogram(h *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return m.it.AtFloatHistogram(h)
}

// maskChunks returns chunks without the samples in ivs: a chunk no
// interval meets is kept as stored, one an interval meets is re-encoded
// from its remaining samples (and left out when none remain). A chunk to
// re-encode that does not decode fails the call: sending it whole would
// send deleted samples.
func maskChunks(chunks []model.Chunk, ivs []interval) ([]model.Chunk, error) {
	if len(ivs) == 0 {
		return chunks, nil
	}
	out := make([]model.Chunk, 0, len(chunks))
	for _, c := range chunks {
		if !overlaps(ivs, c.MinT, c.MaxT) {
			out = append(out, c)
			continue
		}
		mc, ok, err := reencode(c, ivs)
		if err != nil {
			return nil, fmt.Errorf("mask chunk [%d, %d]: %w", c.MinT, c.MaxT, err)
		}
		if ok {
			out = append(out, mc)
		}
	}
	return out, nil
}

// reencode writes the samples of c outside ivs into a new chunk; ok is
// false when there are none.
func reencode(c model.Chunk, ivs []interval) (out model.Chunk, ok bool, err error) {
	nc := chunkenc.NewXORChunk()
	app, err := nc.Appender()
	if err != nil {
		return model.Chunk{}, false, err
	}
	it := chunkenc.NewIterator(c.Data)
	for it.Next() {
		t, v := it.At()
		if covers(ivs, t) {
			continue
		}
		// The samples come from one chunk, in order: Append cannot
		// refuse them.
		if err := app.Append(t, v); err != nil {
			return model.Chunk{}, false, err
		}
		if !ok {
			out.MinT, ok = t, true
		}
		out.MaxT = t
	}
	if err := it.Err(); err != nil {
		return model.Chunk{}, false, err
	}
	nc.Compact()
	out.Data = nc.Bytes()
	return out, ok, nil
}
