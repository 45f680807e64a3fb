package query

import (
	"fmt"

	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// maskHistChunks returns the histogram chunks without the samples that lie
// in ivs (sorted, merged): chunks clear of them are kept as they are, the
// others are encoded again without the deleted histograms, and dropped
// when none is left.
func maskHistChunks(chunks []head.HistChunk, ivs []interval) ([]head.HistChunk, error) {
	if len(ivs) == 0 {
		return chunks, nil
	}
	out := make([]head.HistChunk, 0, len(chunks))
	for _, c := range chunks {
		if !overlaps(ivs, c.MinT, c.MaxT) {
			out = append(out, c)
			continue
		}
		mc, ok, err := maskHistChunk(c, ivs)
		if err != nil {
			return nil, fmt.Errorf("mask histogram chunk [%d, %d]: %w", c.MinT, c.MaxT, err)
		}
		if ok {
			out = append(out, mc)
		}
	}
	return out, nil
}

// maskHistChunk encodes the histograms of c outside ivs into a new chunk of
// c's encoding; ok is false when none is left.
func maskHistChunk(c head.HistChunk, ivs []interval) (head.HistChunk, bool, error) {
	in, err := c.Chunk()
	if err != nil {
		return head.HistChunk{}, false, err
	}
	out, err := pchunkenc.NewEmptyChunk(c.Encoding)
	if err != nil {
		return head.HistChunk{}, false, err
	}
	app, err := out.Appender()
	if err != nil {
		return head.HistChunk{}, false, err
	}
	res := head.HistChunk{Encoding: c.Encoding}
	n := 0
	it := in.Iterator(nil)
	for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
		t := it.AtT()
		if covers(ivs, t) {
			continue
		}
		var nc pchunkenc.Chunk
		recoded := false
		switch vt {
		case pchunkenc.ValHistogram:
			_, h := it.AtHistogram(nil)
			nc, recoded, app, err = app.AppendHistogram(nil, 0, t, h, false)
		case pchunkenc.ValFloatHistogram:
			_, fh := it.AtFloatHistogram(nil)
			nc, recoded, app, err = app.AppendFloatHistogram(nil, 0, t, fh, false)
		default:
			err = fmt.Errorf("sample of type %s in a histogram chunk", vt)
		}
		if err == nil && nc != nil && !recoded {
			err = fmt.Errorf("histogram at %d needs a new chunk", t)
		}
		if err != nil {
			return head.HistChunk{}, false, err
		}
		if nc != nil {
			out = nc
		}
		if n == 0 {
			res.MinT = t
		}
		res.MaxT = t
		n++
	}
	if err := it.Err(); err != nil {
		return head.HistChunk{}, false, err
	}
	res.Data = out.Bytes()
	return res, n > 0, nil
}
