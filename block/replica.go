package block

import (
	"bytes"
	"fmt"
	"maps"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// NodeLabel is the external label (meta.json thanos.labels) naming the
// cluster node that sealed a block. In a cluster every replica of a series
// seals and uploads its own block of each window, so a window holds one raw
// block per node until the replica compaction (CompactReplicas) merges them
// into one block without the label.
const NodeLabel = "gorilla_node"

// IsReplica reports whether m is a block one cluster node sealed: it
// carries NodeLabel.
func (m Meta) IsReplica() bool {
	_, ok := m.Thanos.Labels[NodeLabel]
	return ok
}

// withoutNode returns the external labels of m without NodeLabel: those of
// the block merged from m and its fellow replicas.
func withoutNode(ls map[string]string) map[string]string {
	out := maps.Clone(ls)
	delete(out, NodeLabel)
	return out
}

// MergeReplicas merges the series of several blocks of one window (the
// replica blocks of the window, and a merged block when one exists). Each
// list is sorted by labels, as Block.Select returns it; the result is too,
// with each label set once.
//
// A series found in one list only keeps its chunks as they are (no copy). A
// series found in several whose chunk lists are byte for byte equal keeps
// the first list's. Otherwise its samples are merged in time order, one
// per timestamp (replicas hold the same samples; a sample one replica lacks
// is taken from another; on a timestamp with different values the earlier
// list wins, bit for bit, stale markers included) and encoded again into
// XOR chunks of at most chunkenc.MaxSamples samples; a sample out of time
// order within a replica's chunks is dropped. A chunk that does not decode
// fails the merge with an error naming the series.
func MergeReplicas(lists [][]model.ChunkSeries) ([]model.ChunkSeries, error) {
	switch len(lists) {
	case 0:
		return nil, nil
	case 1:
		return lists[0], nil
	}
	idx := make([]int, len(lists))
	var out []model.ChunkSeries
	var same []model.ChunkSeries
	for {
		// The smallest label set among the lists' heads.
		var least labels.Labels
		found := false
		for i, l := range lists {
			if idx[i] < len(l) && (!found || labels.Compare(l[idx[i]].Labels, least) < 0) {
				least, found = l[idx[i]].Labels, true
			}
		}
		if !found {
			return out, nil
		}
		same = same[:0]
		for i, l := range lists {
			if idx[i] < len(l) && labels.Compare(l[idx[i]].Labels, least) == 0 {
				same = append(same, l[idx[i]])
				idx[i]++
			}
		}
		s, err := mergeSeries(same)
		if err != nil {
			return nil, err
		}
		s.Histograms = mostHistograms(same)
		if len(s.Chunks) > 0 || len(s.Histograms) > 0 {
			out = append(out, s)
		}
	}
}

// mergeSeries merges the replicas of one series (see MergeReplicas).
func mergeSeries(reps []model.ChunkSeries) (model.ChunkSeries, error) {
	if len(reps) == 1 || allEqual(reps) {
		return reps[0], nil
	}
	if nonEmpty := withChunks(reps); len(nonEmpty) < 2 {
		// One replica holds floats, the others histograms only.
		if len(nonEmpty) == 1 {
			return nonEmpty[0], nil
		}
		return model.ChunkSeries{Labels: reps[0].Labels}, nil
	}
	its := make([]*chunkSamples, len(reps))
	for i, r := range reps {
		its[i] = &chunkSamples{chunks: r.Chunks}
		if err := its[i].next(); err != nil {
			return model.ChunkSeries{}, fmt.Errorf("merge replicas of %s: %w", r.Labels, err)
		}
	}
	enc := chunkEncoder{}
	for {
		// The earliest sample among the replicas; the first replica wins a
		// tie, and every replica at that timestamp moves on.
		best := -1
		for i, it := range its {
			if it.ok && (best < 0 || it.t < its[best].t) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		t, v := its[best].t, its[best].v
		if enc.cur != nil && t <= enc.c.MaxT {
			// Out of order within a damaged chunk: dropped, so that the
			// merged series stays in time order.
			if err := its[best].next(); err != nil {
				return model.ChunkSeries{}, fmt.Errorf("merge replicas of %s: %w", reps[0].Labels, err)
			}
			continue
		}
		if err := enc.append(t, v); err != nil {
			return model.ChunkSeries{}, fmt.Errorf("merge replicas of %s: %w", reps[0].Labels, err)
		}
		for _, it := range its {
			for it.ok && it.t == t {
				if err := it.next(); err != nil {
					return model.ChunkSeries{}, fmt.Errorf("merge replicas of %s: %w", reps[0].Labels, err)
				}
			}
		}
	}
	return model.ChunkSeries{Labels: reps[0].Labels, Chunks: enc.finish()}, nil
}

// allEqual reports whether every replica holds the same chunk bytes.
func allEqual(reps []model.ChunkSeries) bool {
	first := reps[0].Chunks
	for _, r := range reps[1:] {
		if len(r.Chunks) != len(first) {
			return false
		}
		for i, c := range r.Chunks {
			if c.MinT != first[i].MinT || c.MaxT != first[i].MaxT || !bytes.Equal(c.Data, first[i].Data) {
				return false
			}
		}
	}
	return true
}

// chunkSamples walks the samples of one replica's chunks in order.
type chunkSamples struct {
	chunks []model.Chunk
	it     chunkenc.Iterator
	open   bool
	ok     bool // t, v hold the current sample
	t      int64
	v      float64
}

// next moves to the next sample; ok turns false at the end. A chunk that
// does not decode is an error.
func (c *chunkSamples) next() error {
	for {
		if c.open && c.it.Next() {
			c.t, c.v = c.it.At()
			c.ok = true
			return nil
		}
		if c.open {
			if err := c.it.Err(); err != nil {
				c.ok = false
				return err
			}
		}
		if len(c.chunks) == 0 {
			c.ok = false
			return nil
		}
		c.it.Reset(c.chunks[0].Data)
		c.chunks, c.open = c.chunks[1:], true
	}
}

// chunkEncoder encodes samples in time order into XOR chunks, cutting a new
// chunk when one is full.
type chunkEncoder struct {
	out []model.Chunk
	cur *chunkenc.XORChunk
	app *chunkenc.Appender
	c   model.Chunk
}

func (e *chunkEncoder) append(t int64, v float64) error {
	if e.cur == nil || e.cur.NumSamples() == chunkenc.MaxSamples {
		e.cut()
		e.cur = chunkenc.NewXORChunk()
		app, err := e.cur.Appender()
		if err != nil {
			return err
		}
		e.app = app
		e.c = model.Chunk{MinT: math.MaxInt64, MaxT: math.MinInt64}
	}
	if err := e.app.Append(t, v); err != nil {
		return err
	}
	e.c.MinT, e.c.MaxT = min(e.c.MinT, t), max(e.c.MaxT, t)
	return nil
}

// cut closes the chunk being written, if it holds samples.
func (e *chunkEncoder) cut() {
	if e.cur == nil || e.cur.NumSamples() == 0 {
		return
	}
	e.cur.Compact()
	e.c.Data = e.cur.Bytes()
	e.out = append(e.out, e.c)
	e.cur = nil
}

// finish returns the chunks written.
func (e *chunkEncoder) finish() []model.Chunk {
	e.cut()
	return e.out
}
