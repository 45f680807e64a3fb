package block

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Roll-up resolutions in milliseconds, the values of
// meta.thanos.downsample.resolution (docs/rollups.md).
const (
	Resolution5m = int64(5 * 60 * 1000)
	Resolution1h = int64(60 * 60 * 1000)
)

// RollupLabel is the label a roll-up series adds to its raw series' labels;
// its value names the aggregate. It is part of the roll-up format.
const RollupLabel = "__rollup__"

// Aggregates, the values of RollupLabel. Part of the roll-up format.
const (
	AggrCount   = "count"
	AggrSum     = "sum"
	AggrMin     = "min"
	AggrMax     = "max"
	AggrCounter = "counter"
)

// aggregates lists the aggregates in the order of their output slots.
var aggregates = [numAggr]string{AggrCount, AggrSum, AggrMin, AggrMax, AggrCounter}

const (
	slotCount = iota
	slotSum
	slotMin
	slotMax
	slotCounter
	numAggr
)

// ErrRollupInput is wrapped by Downsample's errors about its input: a
// series that already carries RollupLabel, or samples out of time order.
var ErrRollupInput = errors.New("bad roll-up input")

// Downsample turns the raw series of one window (sorted by labels, chunks in
// our XOR format) into the roll-up series at resolution res (ms, > 0),
// sorted by labels: five series per raw series, its labels plus RollupLabel
// set to each aggregate. Every interval [k*res, (k+1)*res) holding at least
// one sample that is not NaN (stale markers included) gives each of the five
// one sample, at the timestamp of the interval's last such sample:
//
//   - count: the number of those samples;
//   - sum, min, max: of their values;
//   - counter: the raw value of the interval's last sample, plus, around
//     each counter reset (a value lower than the one before it), the two
//     raw samples of the drop, at their own timestamps. The engine's rate
//     and increase then read every reset where it happened, within a
//     window and across windows, as from the raw samples.
//
// A raw series whose samples are all NaN yields five series without chunks,
// which Write skips. Each output series has one chunk unless it exceeds
// chunkenc.MaxSamples. Samples must be in strictly increasing time order.
func Downsample(series []model.ChunkSeries, res int64) ([]model.ChunkSeries, error) {
	if res <= 0 {
		return nil, fmt.Errorf("downsample: resolution %d ms, want > 0", res)
	}
	out := make([]model.ChunkSeries, 0, numAggr*len(series))
	d := downsampler{res: res}
	var sb labels.ScratchBuilder
	for _, s := range series {
		if s.Labels.Has(RollupLabel) {
			return nil, fmt.Errorf("downsample %s: already has label %s: %w", s.Labels, RollupLabel, ErrRollupInput)
		}
		chunks, err := d.series(s)
		if err != nil {
			return nil, fmt.Errorf("downsample %s: %w", s.Labels, err)
		}
		for i, aggr := range aggregates {
			out = append(out, model.ChunkSeries{Labels: rollupLabels(&sb, s.Labels, aggr), Chunks: chunks[i]})
		}
	}
	// The sorted order of the output is not the input's: two raw series that
	// differ only in labels sorting after RollupLabel interleave by aggregate.
	slices.SortFunc(out, func(a, b model.ChunkSeries) int { return labels.Compare(a.Labels, b.Labels) })
	return out, nil
}

// rollupLabels returns ls plus RollupLabel=aggr, inserted at its sorted
// place so that no sort is needed.
func rollupLabels(sb *labels.ScratchBuilder, ls labels.Labels, aggr string) labels.Labels {
	sb.Reset()
	added := false
	ls.Range(func(l labels.Label) {
		if !added && l.Name > RollupLabel {
			sb.Add(RollupLabel, aggr)
			added = true
		}
		sb.Add(l.Name, l.Value)
	})
	if !added {
		sb.Add(RollupLabel, aggr)
	}
	return sb.Labels()
}

// downsampler holds the state of one Downsample call, reused across series.
type downsampler struct {
	res int64
	it  chunkenc.Iterator

	// The interval being aggregated.
	end      int64 // exclusive end of the interval
	n        int   // samples counted in it; 0 before the first
	t        int64 // timestamp of its last counted sample
	sum      float64
	min, max float64

	// The counter state across intervals; seen is false before the
	// series' first non-NaN sample. prev and prevT are the last non-NaN
	// sample; counterT is the timestamp of the counter's newest point.
	seen            bool
	prev            float64
	prevT, counterT int64

	apps [numAggr]rollupAppender
}

// series aggregates one raw series into the chunks of its five roll-ups, in
// the order of aggregates.
func (d *downsampler) series(s model.ChunkSeries) ([numAggr][]model.Chunk, error) {
	d.n, d.seen, d.counterT = 0, false, math.MinInt64
	started, lastT := false, int64(math.MinInt64)
	for i := range d.apps {
		d.apps[i].reset()
	}
	for ci, c := range s.Chunks {
		d.it.Reset(c.Data)
		for d.it.Next() {
			t, v := d.it.At()
			if started && t <= lastT {
				return [numAggr][]model.Chunk{}, fmt.Errorf("chunk %d: sample at %d not after %d: %w", ci, t, lastT, ErrRollupInput)
			}
			started, lastT = true, t
			if math.IsNaN(v) {
				// Stale markers and other NaNs carry no value to aggregate.
				continue
			}
			if err := d.add(t, v); err != nil {
				return [numAggr][]model.Chunk{}, err
			}
		}
		if err := d.it.Err(); err != nil {
			return [numAggr][]model.Chunk{}, fmt.Errorf("read chunk %d: %w", ci, err)
		}
	}
	if err := d.flush(); err != nil {
		return [numAggr][]model.Chunk{}, err
	}
	var out [numAggr][]model.Chunk
	for i := range d.apps {
		out[i] = d.apps[i].finish()
	}
	return out, nil
}

// add aggregates one non-NaN sample.
func (d *downsampler) add(t int64, v float64) error {
	// Timestamps increase, so a sample at or past the end opens a new
	// interval; the division runs once per interval, not per sample.
	if d.n > 0 && t >= d.end {
		if err := d.flush(); err != nil {
			return err
		}
	}
	if d.seen && v < d.prev {
		// A reset: keep the value it dropped from and the one it dropped
		// to, so that the rise after it cannot hide it.
		if err := d.counterPoint(d.prevT, d.prev); err != nil {
			return err
		}
		if err := d.counterPoint(t, v); err != nil {
			return err
		}
	}
	d.seen, d.prev, d.prevT = true, v, t
	if d.n == 0 {
		d.end = model.WindowStart(t, d.res) + d.res
		d.sum, d.min, d.max = v, v, v
	} else {
		d.sum += v
		d.min = min(d.min, v)
		d.max = max(d.max, v)
	}
	d.n++
	d.t = t
	return nil
}

// flush emits the current interval, if it counted any sample.
func (d *downsampler) flush() error {
	if d.n == 0 {
		return nil
	}
	vals := [numAggr]float64{float64(d.n), d.sum, d.min, d.max}
	for i := range slotCounter {
		if err := d.apps[i].append(d.t, vals[i]); err != nil {
			return err
		}
	}
	if err := d.counterPoint(d.t, d.prev); err != nil {
		return err
	}
	d.n = 0
	return nil
}

// counterPoint adds a point to the counter roll-up unless one is already
// at t (a reset's sample may also end its interval).
func (d *downsampler) counterPoint(t int64, v float64) error {
	if t <= d.counterT {
		return nil
	}
	d.counterT = t
	return d.apps[slotCounter].append(t, v)
}

// rollupAppender builds the chunks of one roll-up series, cutting a new
// chunk only when one is full.
type rollupAppender struct {
	chunks   []model.Chunk
	cur      *chunkenc.XORChunk
	app      *chunkenc.Appender
	min, max int64
}

func (a *rollupAppender) reset() { *a = rollupAppender{} }

// append adds a sample, cutting a chunk when the current one is full.
func (a *rollupAppender) append(t int64, v float64) error {
	if a.cur != nil {
		err := a.app.Append(t, v)
		if err == nil {
			a.max = t
			return nil
		}
		if !errors.Is(err, chunkenc.ErrChunkFull) {
			return err
		}
		a.cut()
	}
	a.cur = chunkenc.NewXORChunk()
	app, err := a.cur.Appender()
	if err != nil {
		return err
	}
	a.app, a.min, a.max = app, t, t
	return a.app.Append(t, v)
}

// cut closes the current chunk.
func (a *rollupAppender) cut() {
	a.cur.Compact()
	a.chunks = append(a.chunks, model.Chunk{MinT: a.min, MaxT: a.max, Data: a.cur.Bytes()})
	a.cur, a.app = nil, nil
}

// finish closes the current chunk and returns all of them.
func (a *rollupAppender) finish() []model.Chunk {
	if a.cur != nil {
		a.cut()
	}
	return a.chunks
}
