package query

import (
	"context"
	"log/slog"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Head is what the queryable needs of the in-memory store.
type Head interface {
	Select(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]*head.Series, error)
	LabelNames() []string
	LabelValues(name string) []string
	// Windows are the head's time windows, which its blocks follow.
	Windows() model.Windows
	// MinTime is the time from which the head holds every sample it took.
	MinTime() int64
}

// Queryable serves queries from the head and, for older data, from the
// sealed blocks. It implements storage.SampleAndChunkQueryable.
type Queryable struct {
	head   Head
	blocks Blocks // nil: head only
	// blockConcurrency bounds the blocks one query opens at once.
	blockConcurrency int
	log              *slog.Logger
	reg              prometheus.Registerer
	corrupt          *corruptChunks
	tombs            *Tombstones // nil: nothing deleted (see WithTombstones)
}

var _ storage.SampleAndChunkQueryable = (*Queryable)(nil)

// New returns a Queryable over h alone.
func New(h Head, opts ...Option) *Queryable { return NewWithBlocks(h, nil, opts...) }

// NewWithBlocks returns a Queryable over h and the blocks b: each query
// reads the blocks before the head's data and the head after it (see
// boundary), so no sample is read twice. Options tune how blocks are read.
func NewWithBlocks(h Head, b Blocks, opts ...Option) *Queryable {
	q := &Queryable{head: h, blocks: b, blockConcurrency: DefaultBlockConcurrency}
	for _, o := range opts {
		o(q)
	}
	q.corrupt = newCorruptChunks(q.log, q.reg)
	return q
}

// Querier returns a querier over [mint, maxt]. Any int64 bounds are
// accepted: they are clamped to [model.MinTime, model.MaxTime], which holds
// every sample the store keeps, so math.MinInt64 and math.MaxInt64 (or
// Prometheus's own "unbounded" times) mean all data, and a range wholly
// outside it is empty.
func (q *Queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{newLabelQuerier(q, mint, maxt)}, nil
}

// ChunkQuerier returns a chunk querier over [mint, maxt], clamped as in
// Querier.
func (q *Queryable) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	return &chunkQuerier{newLabelQuerier(q, mint, maxt)}, nil
}

// labelQuerier answers label questions; both queriers embed it.
type labelQuerier struct {
	q          *Queryable
	mint, maxt int64
}

// newLabelQuerier returns the label querier over [mint, maxt] clamped by
// clampRange: past this point every bound is in the timestamp range, so
// arithmetic on it (block windows, the boundary) cannot overflow.
func newLabelQuerier(q *Queryable, mint, maxt int64) labelQuerier {
	mint, maxt = clampRange(mint, maxt)
	return labelQuerier{q, mint, maxt}
}

// clampRange limits [mint, maxt] to [model.MinTime, model.MaxTime]. A range
// that is empty or lies wholly outside becomes the empty [model.MaxTime,
// model.MinTime]: nothing is stored out there, and clamping such a range
// would read the samples at the ends.
func clampRange(mint, maxt int64) (int64, int64) {
	if mint > maxt || maxt < model.MinTime || mint > model.MaxTime {
		return model.MaxTime, model.MinTime
	}
	return model.ClampTime(mint), model.ClampTime(maxt)
}

// selectRange narrows the querier's range by the hints, clamped in the same
// way.
func (q *labelQuerier) selectRange(hints *storage.SelectHints) (int64, int64) {
	if hints == nil {
		return q.mint, q.maxt
	}
	return clampRange(max(q.mint, hints.Start), min(q.maxt, hints.End))
}

func (q *labelQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labels(ctx, hints, ms, labelSource{
		index: func() []string { return q.q.head.LabelValues(name) },
		series: func(ls labels.Labels, out []string) []string {
			if v := ls.Get(name); v != "" {
				out = append(out, v)
			}
			return out
		},
		block: func(b *block.Block) ([]string, error) {
			if name == block.RollupLabel {
				return nil, nil
			}
			return b.LabelValues(ctx, name, ms...)
		},
	})
}

func (q *labelQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labels(ctx, hints, ms, labelSource{
		index: q.q.head.LabelNames,
		series: func(ls labels.Labels, out []string) []string {
			ls.Range(func(l labels.Label) { out = append(out, l.Name) })
			return out
		},
		block: func(b *block.Block) ([]string, error) {
			names, err := b.LabelNames(ctx, ms...)
			// Roll-up blocks (read where raw blocks are gone) add their
			// aggregate label, which no raw series has.
			return slices.DeleteFunc(names, func(n string) bool { return n == block.RollupLabel }), err
		},
	})
}

// labelSource answers one label question from each store: the head's
// index (no matchers), the labels of matching head series, and a block's
// index.
type labelSource struct {
	index  func() []string
	series func(labels.Labels, []string) []string
	block  func(*block.Block) ([]string, error)
}

// labels answers a label question over the querier's range: the head
// after the boundary, the blocks' indexes before it.
func (q *labelQuerier) labels(ctx context.Context, hints *storage.LabelHints, ms []*labels.Matcher, src labelSource) ([]string, annotations.Annotations, error) {
	b := q.q.boundary()
	var out []string
	if q.maxt >= b {
		if len(ms) == 0 {
			out = append(out, src.index()...)
		} else {
			series, err := q.q.head.Select(ctx, max(q.mint, b), q.maxt, ms...)
			if err != nil {
				return nil, nil, err
			}
			for _, s := range series {
				out = src.series(s.Labels, out)
			}
		}
	}
	if q.mint < b && q.q.blocks != nil {
		all := q.q.blocks.Metas(q.mint, min(q.maxt, b-1))
		lists, err := eachWindow(ctx, q.q.blockConcurrency, windows(all), func(ctx context.Context, w blockWindow) ([]string, error) {
			bs := windowBlocks(w, all)
			if len(bs) == 1 {
				return withBlock(ctx, q.q, bs[0].ULID, src.block)
			}
			// Replica blocks of one window: the union of their answers.
			var vals []string
			for _, m := range bs {
				v, err := withBlock(ctx, q.q, m.ULID, src.block)
				if err != nil {
					return nil, err
				}
				vals = append(vals, v...)
			}
			return vals, nil
		})
		if err != nil {
			return nil, nil, err
		}
		for _, vals := range lists {
			out = append(out, vals...)
		}
	}
	slices.Sort(out)
	return limit(slices.Compact(out), hints), nil, nil
}

func (q *labelQuerier) Close() error { return nil }

func limit(vals []string, hints *storage.LabelHints) []string {
	if hints != nil && hints.Limit > 0 && len(vals) > hints.Limit {
		return vals[:hints.Limit]
	}
	return vals
}

type querier struct{ labelQuerier }

// Select returns the matching series, sorted by labels when sortSeries is
// set, a limit is hinted or blocks answer. Otherwise (the PromQL engine
// does not ask for sorting) series of the head alone come in no
// particular order.
func (q *querier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.selectRange(hints)
	sorted := sortSeries || (hints != nil && hints.Limit > 0)
	if ss, ok := q.selectHeadOnly(ctx, mint, maxt, sorted, hints, ms); ok {
		return ss
	}
	parts, warns, err := q.q.selectParts(ctx, mint, maxt, ms, hints, sorted)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	parts = q.q.maskParts(parts, mint, maxt)
	if hints != nil && hints.Limit > 0 && len(parts) > hints.Limit {
		parts = parts[:hints.Limit]
	}
	return &seriesSet{parts: parts, i: -1, warns: warns, corrupt: q.q.corrupt}
}

type chunkQuerier struct{ labelQuerier }

// Select returns the matching series as chunks, sorted by labels.
func (q *chunkQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	mint, maxt := q.selectRange(hints)
	// Chunks are read as stored: raw samples only.
	parts, warns, err := q.q.selectParts(ctx, mint, maxt, ms, nil, true)
	if err != nil {
		return storage.ErrChunkSeriesSet(err)
	}
	parts = q.q.maskParts(parts, mint, maxt)
	if hints != nil && hints.Limit > 0 && len(parts) > hints.Limit {
		parts = parts[:hints.Limit]
	}
	return &chunkSeriesSet{parts: parts, i: -1, warns: warns, corrupt: q.q.corrupt}
}

// part is one series of a query: its block chunks (samples in
// [bmint, bmaxt]) followed by its head snapshot; either may be missing.
type part struct {
	labels       labels.Labels
	block        []model.Chunk
	blockHist    []model.HistogramChunk // native histogram chunks of the blocks
	bmint, bmaxt int64
	head         *head.Series
	deleted      []interval // by tombstones, sorted; see maskParts
}

// selectParts reads [mint, maxt] from the blocks before the boundary and
// from the head after it, and joins the two by series. With hints of a
// PromQL select, blocks may answer from roll-ups (see rollup.go). Block
// chunks that do not decode are left out and reported in the warnings
// (see corrupt.go). The parts are sorted by labels when sorted is set or
// blocks answer; a head alone may answer in any order otherwise.
func (q *Queryable) selectParts(ctx context.Context, mint, maxt int64, ms []*labels.Matcher, hints *storage.SelectHints, sorted bool) ([]part, annotations.Annotations, error) {
	b := q.boundary()
	var bs []model.ChunkSeries
	var warns annotations.Annotations
	if mint < b {
		var err error
		maxRes, aggr := maxSourceResolution(ctx, hints), ""
		if hints != nil {
			aggr = rollupAggregate(hints.Func)
		}
		if bs, warns, err = q.selectBlocks(ctx, mint, min(maxt, b-1), ms, maxRes, aggr); err != nil {
			return nil, nil, err
		}
	}
	var hs []*head.Series
	if maxt >= b {
		var err error
		if hs, err = q.selectHead(ctx, max(mint, b), maxt, ms, sorted || len(bs) > 0); err != nil {
			return nil, nil, err
		}
	}
	out := make([]part, 0, max(len(hs), len(bs)))
	if len(bs) == 0 {
		for _, s := range hs {
			out = append(out, part{labels: s.Labels, head: s, bmint: mint, bmaxt: min(maxt, b-1)})
		}
		return out, warns, nil
	}
	i, j := 0, 0
	for i < len(bs) || j < len(hs) {
		var c int
		switch {
		case i == len(bs):
			c = 1
		case j == len(hs):
			c = -1
		default:
			c = labels.Compare(bs[i].Labels, hs[j].Labels)
		}
		p := part{bmint: mint, bmaxt: min(maxt, b-1)}
		if c <= 0 {
			p.labels, p.block, p.blockHist = bs[i].Labels, bs[i].Chunks, bs[i].Histograms
			i++
		}
		if c >= 0 {
			p.labels, p.head = hs[j].Labels, hs[j]
			j++
		}
		out = append(out, p)
	}
	return out, warns, nil
}

// unsortedHead is a head that can also select in no particular order,
// which is cheaper (head.Head.SelectUnsorted).
type unsortedHead interface {
	SelectUnsorted(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]*head.Series, error)
}

// selectHead selects from the head, sorted by labels when sorted is set.
func (q *Queryable) selectHead(ctx context.Context, mint, maxt int64, ms []*labels.Matcher, sorted bool) ([]*head.Series, error) {
	if u, ok := q.head.(unsortedHead); ok && !sorted {
		return u.SelectUnsorted(ctx, mint, maxt, ms...)
	}
	return q.head.Select(ctx, mint, maxt, ms...)
}
