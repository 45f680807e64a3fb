package query

import (
	"context"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// AutoResolution lets each query pick its roll-up resolution from its step
// (see resolutionFor); it is the default.
const AutoResolution = int64(-1)

type resolutionKey struct{}

// WithMaxSourceResolution returns a context under which queries read
// roll-ups of at most res milliseconds (0: raw data only; AutoResolution:
// from the step), as Thanos's max_source_resolution.
func WithMaxSourceResolution(ctx context.Context, res int64) context.Context {
	return context.WithValue(ctx, resolutionKey{}, res)
}

// maxSourceResolution is the finest resolution a select may read roll-ups
// of: the one the context sets, or by default a fifth of the step, so
// that every step still spans several roll-up points; at most half the
// range of a range function, and 5m for a plain selector. Selects without
// a step (remote read, label queries) read raw data.
func maxSourceResolution(ctx context.Context, hints *storage.SelectHints) int64 {
	res := AutoResolution
	if v, ok := ctx.Value(resolutionKey{}).(int64); ok {
		res = v
	}
	if res == AutoResolution {
		if hints == nil || hints.Step <= 0 {
			return 0
		}
		res = hints.Step / 5
	}
	if hints == nil {
		return res
	}
	// A range function needs two points in its range; a plain selector a
	// point within the lookback (5m by default).
	if hints.Range > 0 {
		return min(res, hints.Range/2)
	}
	return min(res, block.Resolution5m)
}

// rollupAggregate returns which aggregate answers the function func over
// roll-up samples the same as over raw samples (within the documented
// tolerance), or "" when only raw samples do. avg means sum/count per
// interval.
func rollupAggregate(fn string) string {
	switch fn {
	case "rate", "increase", "irate":
		return block.AggrCounter
	case "min_over_time":
		return block.AggrMin
	case "max_over_time":
		return block.AggrMax
	case "", "avg_over_time":
		return aggrAvg
	}
	return ""
}

const aggrAvg = "avg"

// rollupFor returns the coarsest roll-up block of the window of raw that
// is at most maxRes, if any.
func rollupFor(raw block.Meta, all []block.Meta, maxRes int64) (block.Meta, bool) {
	var best block.Meta
	found := false
	for _, m := range all {
		res := m.Thanos.Downsample.Resolution
		if res == 0 || res > maxRes || m.MinTime != raw.MinTime || m.MaxTime != raw.MaxTime {
			continue
		}
		if !found || res > best.Thanos.Downsample.Resolution {
			best, found = m, true
		}
	}
	return best, found
}

// finestRollup returns the finest roll-up block of the window of w (one
// exists: the window is listed, without its raw block).
func finestRollup(w block.Meta, all []block.Meta) block.Meta {
	var best block.Meta
	for _, m := range all {
		res := m.Thanos.Downsample.Resolution
		if res == 0 || m.MinTime != w.MinTime || m.MaxTime != w.MaxTime {
			continue
		}
		if best.Thanos.Downsample.Resolution == 0 || res < best.Thanos.Downsample.Resolution {
			best = m
		}
	}
	return best
}

// selectRollup reads the aggregate aggr of the series matching ms from a
// roll-up block, as series with their raw labels.
func (q *Queryable) selectRollup(ctx context.Context, m block.Meta, aggr string, mint, maxt int64, ms []*labels.Matcher) ([]model.ChunkSeries, error) {
	return withBlock(ctx, q, m.ULID, func(b *block.Block) ([]model.ChunkSeries, error) {
		sel := func(a string) ([]model.ChunkSeries, error) {
			with := append(ms[:len(ms):len(ms)], labels.MustNewMatcher(labels.MatchEqual, block.RollupLabel, a))
			series, err := b.Select(ctx, mint, maxt, with...)
			for i := range series {
				series[i].Labels = withoutRollupLabel(series[i].Labels)
			}
			return series, err
		}
		if aggr != aggrAvg {
			return sel(aggr)
		}
		sums, err := sel(block.AggrSum)
		if err != nil {
			return nil, err
		}
		counts, err := sel(block.AggrCount)
		if err != nil {
			return nil, err
		}
		return averages(sums, counts)
	})
}

func withoutRollupLabel(ls labels.Labels) labels.Labels {
	b := labels.NewBuilder(ls)
	b.Del(block.RollupLabel)
	return b.Labels()
}

// averages divides each sum series by its count series, point by point,
// into new chunks. Both lists are sorted by labels and hold the same
// series with the same timestamps.
func averages(sums, counts []model.ChunkSeries) ([]model.ChunkSeries, error) {
	if len(sums) != len(counts) {
		return nil, fmt.Errorf("roll-up block holds %d sum and %d count series", len(sums), len(counts))
	}
	out := make([]model.ChunkSeries, 0, len(sums))
	for i := range sums {
		if labels.Compare(sums[i].Labels, counts[i].Labels) != 0 {
			return nil, fmt.Errorf("roll-up sum and count series differ: %s, %s", sums[i].Labels, counts[i].Labels)
		}
		c, err := divideChunks(sums[i].Chunks, counts[i].Chunks)
		if err != nil {
			return nil, fmt.Errorf("average of %s: %w", sums[i].Labels, err)
		}
		if c.Data != nil {
			out = append(out, model.ChunkSeries{Labels: sums[i].Labels, Chunks: []model.Chunk{c}})
		}
	}
	return out, nil
}

// divideChunks encodes sum/count at each timestamp of the two chunk lists
// into one chunk (a window's roll-up has few points).
func divideChunks(sums, counts []model.Chunk) (model.Chunk, error) {
	sumIt, countIt := chunksIterator(sums), chunksIterator(counts)
	out := chunkenc.NewXORChunk()
	app, err := out.Appender()
	if err != nil {
		return model.Chunk{}, err
	}
	c := model.Chunk{MinT: math.MaxInt64, MaxT: math.MinInt64}
	for sumIt.next() {
		if !countIt.next() {
			return model.Chunk{}, fmt.Errorf("count series ends before sum series")
		}
		ts, sum := sumIt.at()
		tc, count := countIt.at()
		if ts != tc {
			return model.Chunk{}, fmt.Errorf("sum at %d, count at %d", ts, tc)
		}
		if err := app.Append(ts, sum/count); err != nil {
			return model.Chunk{}, err
		}
		c.MinT, c.MaxT = min(c.MinT, ts), max(c.MaxT, ts)
	}
	if err := errorsOf(sumIt, countIt); err != nil {
		return model.Chunk{}, err
	}
	if c.MinT == math.MaxInt64 {
		return model.Chunk{}, nil
	}
	out.Compact()
	c.Data = out.Bytes()
	return c, nil
}

// chunkSamples walks the samples of a list of chunks.
type chunkSamples struct {
	chunks []model.Chunk
	it     *chunkenc.Iterator
	err    error
}

func chunksIterator(cs []model.Chunk) *chunkSamples { return &chunkSamples{chunks: cs} }

func (c *chunkSamples) next() bool {
	for {
		if c.it != nil && c.it.Next() {
			return true
		}
		if c.it != nil {
			if c.err = c.it.Err(); c.err != nil {
				return false
			}
		}
		if len(c.chunks) == 0 {
			return false
		}
		c.it = chunkenc.NewIterator(c.chunks[0].Data)
		c.chunks = c.chunks[1:]
	}
}

func (c *chunkSamples) at() (int64, float64) { return c.it.At() }

func errorsOf(its ...*chunkSamples) error {
	for _, it := range its {
		if it.err != nil {
			return it.err
		}
	}
	return nil
}
