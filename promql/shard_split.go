package promql

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// splitQueryable serves the shards of one sharded query: each selection
// the shards make is read once from the store, by the first shard to ask,
// and its series are dealt out by a hash of their labels without the
// metric name. Series that differ only by name (which rate and the like
// drop) thus land in one shard, where the engine still sees the clash.
// close closes what was opened, after the last shard is done.
type splitQueryable struct {
	base storage.Queryable
	n    int

	mu       sync.Mutex
	queriers map[[2]int64]storage.Querier // by mint, maxt
	selects  map[string]*splitSelect      // by selectKey
}

// splitSelect is one selection, dealt out into n parts.
type splitSelect struct {
	once  sync.Once
	parts [][]storage.Series
	warns annotations.Annotations
	err   error
}

func newSplitQueryable(base storage.Queryable, n int) *splitQueryable {
	return &splitQueryable{
		base: base, n: n,
		queriers: map[[2]int64]storage.Querier{},
		selects:  map[string]*splitSelect{},
	}
}

// shard returns the queryable of shard i, in [0, n).
func (s *splitQueryable) shard(i int) storage.Queryable {
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		return &shardQuerier{s: s, i: i, mint: mint, maxt: maxt}, nil
	})
}

// querier returns the store's querier over [mint, maxt], opened once.
func (s *splitQueryable) querier(mint, maxt int64) (storage.Querier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queriers[[2]int64{mint, maxt}]; ok {
		return q, nil
	}
	q, err := s.base.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	s.queriers[[2]int64{mint, maxt}] = q
	return q, nil
}

// selection returns the selection of key, made at most once.
func (s *splitQueryable) selection(key string) *splitSelect {
	s.mu.Lock()
	defer s.mu.Unlock()
	sel, ok := s.selects[key]
	if !ok {
		sel = &splitSelect{}
		s.selects[key] = sel
	}
	return sel
}

// close closes the store's queriers and returns the first error.
func (s *splitQueryable) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, q := range s.queriers {
		if err := q.Close(); err != nil && first == nil {
			first = err
		}
	}
	clear(s.queriers)
	return first
}

// selectKey names a selection: every shard of a query asks for the same
// ones.
func selectKey(mint, maxt int64, sortSeries bool, hints *storage.SelectHints, ms []*labels.Matcher) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d %t", mint, maxt, sortSeries)
	if hints != nil {
		fmt.Fprintf(&b, " %+v", *hints)
	}
	for _, m := range ms {
		b.WriteByte(' ')
		b.WriteString(m.String())
	}
	return b.String()
}

// shardQuerier is shard i's querier over [mint, maxt].
type shardQuerier struct {
	s          *splitQueryable
	i          int
	mint, maxt int64
}

// Select returns shard i's part of the selection.
func (q *shardQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	sel := q.s.selection(selectKey(q.mint, q.maxt, sortSeries, hints, ms))
	sel.once.Do(func() { sel.read(ctx, q, sortSeries, hints, ms) })
	if sel.err != nil {
		return storage.ErrSeriesSet(sel.err)
	}
	return &sliceSeriesSet{series: sel.parts[q.i], i: -1, warns: sel.warns}
}

// read makes the selection and deals its series out.
func (sel *splitSelect) read(ctx context.Context, q *shardQuerier, sortSeries bool, hints *storage.SelectHints, ms []*labels.Matcher) {
	base, err := q.s.querier(q.mint, q.maxt)
	if err != nil {
		sel.err = err
		return
	}
	set := base.Select(ctx, sortSeries, hints, ms...)
	var all []storage.Series
	for set.Next() {
		all = append(all, set.At())
	}
	sel.warns, sel.err = set.Warnings(), set.Err()
	sel.parts = make([][]storage.Series, q.s.n)
	if len(all) < minShardSeries {
		sel.parts[0] = all // the other shards answer nothing, at once
		return
	}
	shardOf := dealOut(all, q.s.n)
	for i, s := range all {
		sel.parts[shardOf[i]] = append(sel.parts[shardOf[i]], s)
	}
}

// dealOut returns the shard in [0, n) of each series, from a hash of its
// labels without the metric name, hashed on n goroutines: the other
// shards would only wait for the selection meanwhile.
func dealOut(all []storage.Series, n int) []int {
	shardOf := make([]int, len(all))
	var wg sync.WaitGroup
	for p := range n {
		lo, hi := p*len(all)/n, (p+1)*len(all)/n
		wg.Go(func() {
			var buf []byte
			for i := lo; i < hi; i++ {
				var h uint64
				h, buf = all[i].Labels().HashWithoutLabels(buf, labels.MetricName)
				shardOf[i] = int(h % uint64(n))
			}
		})
	}
	wg.Wait()
	return shardOf
}

// minShardSeries is the fewest series a selection deals out: below, one
// shard evaluates them all, faster than several could share them.
const minShardSeries = 256

func (q *shardQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	base, err := q.s.querier(q.mint, q.maxt)
	if err != nil {
		return nil, nil, err
	}
	return base.LabelValues(ctx, name, hints, ms...)
}

func (q *shardQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	base, err := q.s.querier(q.mint, q.maxt)
	if err != nil {
		return nil, nil, err
	}
	return base.LabelNames(ctx, hints, ms...)
}

// Close does nothing: the split queryable closes the store's queriers
// once every shard is done.
func (q *shardQuerier) Close() error { return nil }

// sliceSeriesSet walks a list of series.
type sliceSeriesSet struct {
	series []storage.Series
	i      int
	warns  annotations.Annotations
}

func (s *sliceSeriesSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *sliceSeriesSet) At() storage.Series                { return s.series[s.i] }
func (s *sliceSeriesSet) Err() error                        { return nil }
func (s *sliceSeriesSet) Warnings() annotations.Annotations { return s.warns }
