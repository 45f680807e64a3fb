package query

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
	"golang.org/x/sync/errgroup"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Blocks is what the queryable needs of the sealed blocks in object
// storage; *block.Store implements it.
type Blocks interface {
	// Metas returns the complete blocks overlapping [mint, maxt], sorted
	// by MinTime: each window once per resolution and external labels, so
	// the replica blocks of a window (differing by block.NodeLabel) are
	// all listed, and read and merged together.
	Metas(mint, maxt int64) []block.Meta
	// Open makes a block readable (downloading it when needed) until
	// release is called.
	Open(ctx context.Context, id ulid.ULID) (b *block.Block, release func(), err error)
}

// DefaultBlockConcurrency is how many blocks one query opens (and, when
// they are not in the local cache, downloads) at once unless
// WithBlockConcurrency says otherwise.
const DefaultBlockConcurrency = 4

// Option tunes a Queryable over blocks (see NewWithBlocks).
type Option func(*Queryable)

// WithBlockConcurrency bounds the blocks one query opens at once to n; a
// query over more windows opens the next as one finishes. n < 1 means 1:
// one block after another.
func WithBlockConcurrency(n int) Option {
	return func(q *Queryable) { q.blockConcurrency = max(n, 1) }
}

// boundary returns the time that splits a query between blocks (before it)
// and the head (from it on). The head holds every sample from its MinTime
// on, and its chunks never cross a block window, so the split is on a window
// boundary: the first one at or after the head's min time when blocks reach
// that far (the head's older chunks are in them), else the one before it
// (the head then holds all there is of that window).
//
// Without blocks it is model.MinTime, the lowest bound a querier has; for a
// head that holds nothing (a min time past model.MaxTime) math.MaxInt64. In
// between, it lies within a window of the clamped min time, so it and the
// b-1 of the callers cannot overflow.
func (q *Queryable) boundary() int64 {
	minT := q.head.MinTime()
	if q.blocks == nil {
		return model.MinTime
	}
	if minT > model.MaxTime {
		return math.MaxInt64
	}
	wins := q.head.Windows()
	minT = max(minT, model.MinTime)
	floor := wins.Start(minT)
	if floor == minT {
		return floor
	}
	ceil := floor + wins.Block()
	if metas := q.rawMetas(ceil-1, ceil-1); len(metas) > 0 {
		return ceil
	}
	return floor
}

// rawMetas returns the blocks of raw samples overlapping [mint, maxt].
func (q *Queryable) rawMetas(mint, maxt int64) []block.Meta {
	var out []block.Meta
	for _, m := range q.blocks.Metas(mint, maxt) {
		if m.Thanos.Downsample.Resolution == 0 {
			out = append(out, m)
		}
	}
	return out
}

// selectBlocks returns the series of the blocks overlapping [mint, maxt]
// that match ms, each series once with its chunks of every block in time
// order, sorted by labels. A window is read from a roll-up block when one
// of at most maxRes exists and aggr can answer from it; from its raw block
// otherwise; and from its finest roll-up when the raw block is gone (raw
// retention). Windows are read concurrently, at most q.blockConcurrency at
// once (see eachWindow).
func (q *Queryable) selectBlocks(ctx context.Context, mint, maxt int64, ms []*labels.Matcher, maxRes int64, aggr string) ([]model.ChunkSeries, annotations.Annotations, error) {
	if q.blocks == nil || mint > maxt {
		return nil, nil, nil
	}
	all := q.blocks.Metas(mint, maxt)
	type result struct {
		series []model.ChunkSeries
		warns  annotations.Annotations
	}
	results, err := eachWindow(ctx, q.blockConcurrency, windows(all), func(ctx context.Context, w blockWindow) (result, error) {
		var r result
		id, series, bad, err := q.selectWindow(ctx, w, all, mint, maxt, ms, maxRes, aggr, &r.warns)
		if err != nil {
			return r, q.corrupt.reportFailed(err)
		}
		for _, ce := range bad {
			r.warns.Add(q.corrupt.reportUnreadable(ce))
		}
		r.series = q.corrupt.checkBlockChunks(series, id, &r.warns)
		return r, nil
	})
	if err != nil {
		return nil, nil, err
	}
	lists := make([][]model.ChunkSeries, len(results))
	var warns annotations.Annotations
	for i, r := range results {
		lists[i] = r.series
		warns.Merge(r.warns)
	}
	return mergeChunkSeries(lists), warns, nil
}

// selectWindow reads one window for selectBlocks and returns the block it
// read. Chunks of a raw block that cannot be read are left out and returned
// in bad. A window with several raw blocks (the replica blocks of a
// cluster, see selectReplicas) is read from all of them; the chunks left
// out then are reported in warns already.
func (q *Queryable) selectWindow(ctx context.Context, w blockWindow, all []block.Meta, mint, maxt int64, ms []*labels.Matcher, maxRes int64, aggr string, warns *annotations.Annotations) (id ulid.ULID, series []model.ChunkSeries, bad []*block.ChunkError, err error) {
	if rollup, ok := rollupFor(w.raw, all, maxRes); aggr != "" && maxRes > 0 && ok {
		series, err = q.selectRollup(ctx, rollup, aggr, mint, maxt, ms)
		return rollup.ULID, series, nil, err
	}
	if len(w.raws) > 1 {
		series, err = q.selectReplicas(ctx, w.raws, mint, maxt, ms, warns)
		return w.raw.ULID, series, nil, err
	}
	if w.hasRaw {
		b, release, err := q.blocks.Open(ctx, w.raw.ULID)
		if err != nil {
			return w.raw.ULID, nil, nil, fmt.Errorf("open block %s: %w", w.raw.ULID, err)
		}
		defer release()
		series, bad, err = b.SelectPartial(ctx, mint, maxt, ms...)
		return w.raw.ULID, series, bad, err
	}
	if aggr == "" {
		aggr = aggrAvg
	}
	finest := finestRollup(w.raw, all)
	series, err = q.selectRollup(ctx, finest, aggr, mint, maxt, ms)
	return finest.ULID, series, nil, err
}

// selectReplicas reads the series matching ms from every raw block of one
// window (replica blocks differing by block.NodeLabel, and the block merged
// from them while the replicas are not yet deleted) and merges them with
// block.MergeReplicas: one series per label set, its samples in time order,
// one per timestamp. Series found in one block only, or with equal chunks
// in all, keep their chunks as stored; the others get freshly encoded XOR
// chunks. Chunks that cannot be read are left out of their block's series,
// each reported in warns, before the merge.
func (q *Queryable) selectReplicas(ctx context.Context, raws []block.Meta, mint, maxt int64, ms []*labels.Matcher, warns *annotations.Annotations) ([]model.ChunkSeries, error) {
	lists := make([][]model.ChunkSeries, 0, len(raws))
	for _, m := range raws {
		p, err := withBlock(ctx, q, m.ULID, func(b *block.Block) (partial, error) {
			series, bad, err := b.SelectPartial(ctx, mint, maxt, ms...)
			return partial{series, bad}, err
		})
		if err != nil {
			return nil, err
		}
		for _, ce := range p.bad {
			warns.Add(q.corrupt.reportUnreadable(ce))
		}
		lists = append(lists, q.corrupt.checkBlockChunks(p.series, m.ULID, warns))
	}
	merged, err := block.MergeReplicas(lists)
	if err != nil {
		return nil, fmt.Errorf("window [%d, %d): %w", raws[0].MinTime, raws[0].MaxTime, err)
	}
	return merged, nil
}

// partial is what SelectPartial returns of one block.
type partial struct {
	series []model.ChunkSeries
	bad    []*block.ChunkError
}

// eachWindow calls fn for every window, at most limit at once (at least
// one), and returns the results in the order of ws. Opening a block may
// download it, so a query over many windows waits for the slowest few
// downloads instead of their sum, and the bound keeps one query from
// taking every connection to the bucket. The first error cancels the
// context of the calls still running and is returned.
func eachWindow[T any](ctx context.Context, limit int, ws []blockWindow, fn func(context.Context, blockWindow) (T, error)) ([]T, error) {
	out := make([]T, len(ws))
	if len(ws) == 1 {
		v, err := fn(ctx, ws[0])
		out[0] = v
		return out, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(limit, 1))
	for i, w := range ws {
		g.Go(func() error {
			v, err := fn(gctx, w)
			out[i] = v
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// blockWindow is one block window: its raw block's meta (or, when the raw
// block is gone, any meta of the window, for its time range) and, when the
// window has several raw blocks (the replica blocks of a cluster, see
// block.NodeLabel), all of them.
type blockWindow struct {
	raw    block.Meta
	hasRaw bool
	// raws are the window's raw blocks, a merged block (no NodeLabel)
	// first, then by ULID; raw is raws[0]. Several only in a cluster.
	raws []block.Meta
}

// windows returns the block windows of metas in time order.
func windows(metas []block.Meta) []blockWindow {
	var out []blockWindow
	index := map[[2]int64]int{}
	for _, m := range metas {
		key := [2]int64{m.MinTime, m.MaxTime}
		i, seen := index[key]
		if !seen {
			index[key] = len(out)
			out = append(out, blockWindow{raw: m})
			i = len(out) - 1
		}
		if m.Thanos.Downsample.Resolution == 0 {
			out[i].raws = append(out[i].raws, m)
		}
	}
	for i := range out {
		w := &out[i]
		if len(w.raws) == 0 {
			continue
		}
		if len(w.raws) > 1 {
			slices.SortFunc(w.raws, func(a, b block.Meta) int {
				return cmp.Or(cmpBool(a.IsReplica(), b.IsReplica()), a.ULID.Compare(b.ULID))
			})
		}
		w.raw, w.hasRaw = w.raws[0], true
	}
	slices.SortFunc(out, func(a, b blockWindow) int { return cmp.Compare(a.raw.MinTime, b.raw.MinTime) })
	return out
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// windowBlocks returns the blocks a label question reads for window w: its
// raw blocks, or its finest roll-up when the raw blocks are gone.
func windowBlocks(w blockWindow, all []block.Meta) []block.Meta {
	if w.hasRaw {
		return w.raws
	}
	return []block.Meta{finestRollup(w.raw, all)}
}

// withBlock opens the block id of q's blocks for the duration of fn.
func withBlock[T any](ctx context.Context, q *Queryable, id ulid.ULID, fn func(*block.Block) (T, error)) (T, error) {
	b, release, err := q.blocks.Open(ctx, id)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("open block %s: %w", id, err)
	}
	defer release()
	return fn(b)
}

// mergeChunkSeries merges lists sorted by labels, whose blocks are in time
// order, into one list sorted by labels.
func mergeChunkSeries(lists [][]model.ChunkSeries) []model.ChunkSeries {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	out := lists[0]
	for _, next := range lists[1:] {
		merged := make([]model.ChunkSeries, 0, max(len(out), len(next)))
		i, j := 0, 0
		for i < len(out) || j < len(next) {
			switch {
			case j == len(next) || (i < len(out) && labels.Compare(out[i].Labels, next[j].Labels) < 0):
				merged = append(merged, out[i])
				i++
			case i == len(out) || labels.Compare(out[i].Labels, next[j].Labels) > 0:
				merged = append(merged, next[j])
				j++
			default:
				s := out[i]
				s.Chunks = append(s.Chunks[:len(s.Chunks):len(s.Chunks)], next[j].Chunks...)
				s.Histograms = append(s.Histograms[:len(s.Histograms):len(s.Histograms)], next[j].Histograms...)
				merged = append(merged, s)
				i++
				j++
			}
		}
		out = merged
	}
	return out
}

// blockIterator walks the samples of block chunks within [mint, maxt].
type blockIterator struct {
	chunks     []model.Chunk
	mint, maxt int64
	ci         int  // current chunk
	open       bool // it iterates chunks[ci]
	it         chunkenc.Iterator
	t          int64
	v          float64
	cur        bool // t, v hold a sample
	done       bool
	err        error
	// onErr, if set, turns the error of a chunk that fails to decode into
	// the one Err returns (counting and logging it); it runs once.
	onErr func(model.Chunk, error) error
}

func newBlockIterator(chunks []model.Chunk, mint, maxt int64) *blockIterator {
	return &blockIterator{chunks: chunks, mint: mint, maxt: maxt, ci: -1}
}

func (b *blockIterator) Next() pchunkenc.ValueType {
	b.cur = false
	for !b.done {
		if b.open && b.it.Next() {
			b.t, b.v = b.it.At()
			if b.t < b.mint {
				continue
			}
			if b.t > b.maxt {
				b.done = true
				break
			}
			b.cur = true
			return pchunkenc.ValFloat
		}
		if b.open {
			if err := b.it.Err(); err != nil {
				if b.onErr != nil {
					err = b.onErr(b.chunks[b.ci], err)
				}
				b.err, b.done = err, true
				break
			}
		}
		// The next chunk that reaches mint.
		b.ci++
		for b.ci < len(b.chunks) && b.chunks[b.ci].MaxT < b.mint {
			b.ci++
		}
		if b.ci >= len(b.chunks) || b.chunks[b.ci].MinT > b.maxt {
			b.done = true
			break
		}
		b.it.Reset(b.chunks[b.ci].Data)
		b.open = true
	}
	return pchunkenc.ValNone
}

// Seek moves to the first sample at or after t; it never moves back.
func (b *blockIterator) Seek(t int64) pchunkenc.ValueType {
	if b.done {
		return pchunkenc.ValNone
	}
	if b.cur && b.t >= t {
		return pchunkenc.ValFloat
	}
	b.mint = max(b.mint, t)
	if b.open && b.chunks[b.ci].MaxT < t {
		b.open = false // nothing at or after t in this chunk
	}
	return b.Next()
}

func (b *blockIterator) At() (int64, float64) { return b.t, b.v }
func (b *blockIterator) AtT() int64           { return b.t }
func (b *blockIterator) AtST() int64          { return 0 }
func (b *blockIterator) Err() error           { return b.err }

func (b *blockIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("BUG: AtHistogram on a float series")
}

func (b *blockIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("BUG: AtFloatHistogram on a float series")
}

// concatIterator walks iterators over consecutive time ranges, one after
// the other.
type concatIterator struct {
	its []pchunkenc.Iterator
	i   int
}

func (c *concatIterator) Next() pchunkenc.ValueType {
	for c.i < len(c.its) {
		if vt := c.its[c.i].Next(); vt != pchunkenc.ValNone {
			return vt
		}
		if c.its[c.i].Err() != nil {
			return pchunkenc.ValNone
		}
		c.i++
	}
	return pchunkenc.ValNone
}

func (c *concatIterator) Seek(t int64) pchunkenc.ValueType {
	for c.i < len(c.its) {
		if vt := c.its[c.i].Seek(t); vt != pchunkenc.ValNone {
			return vt
		}
		if c.its[c.i].Err() != nil {
			return pchunkenc.ValNone
		}
		c.i++
	}
	return pchunkenc.ValNone
}

func (c *concatIterator) cur() pchunkenc.Iterator { return c.its[min(c.i, len(c.its)-1)] }

func (c *concatIterator) At() (int64, float64) { return c.cur().At() }
func (c *concatIterator) AtT() int64           { return c.cur().AtT() }
func (c *concatIterator) AtST() int64          { return 0 }

func (c *concatIterator) Err() error {
	if c.i < len(c.its) {
		return c.its[c.i].Err()
	}
	return nil
}

func (c *concatIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return c.cur().AtHistogram(h)
}

func (c *concatIterator) AtFloatHistogram(h *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return c.cur().AtFloatHistogram(h)
}
