package promql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
	"golang.org/x/sync/errgroup"
)

// shardedQuery is a query whose shardable aggregations (see shard_plan.go)
// are evaluated by shards at once before the rewritten query aggregates
// their answers. The shards run on the engine's inner engine, which has
// no slots of its own, while the sharded query holds one of the engine's;
// the rewritten query then runs on the engine itself, which counts it in
// its metrics (the time of the shards is not in its durations).
type shardedQuery struct {
	e       *Engine
	orig    string
	plan    *shardPlan
	store   storage.Queryable
	opts    upstream.QueryOpts
	st      steps
	instant bool
	outer   upstream.Query // the rewritten query, over results
	res     *resultQueryable

	mu     sync.Mutex
	cancel context.CancelFunc // of a running Exec
}

// newSharded prepares the sharded form of qs over [start, end] every step
// (an instant query has start = end and step 0), or returns nil when qs
// has nothing to shard or the engine runs one shard.
func (e *Engine) newSharded(ctx context.Context, store storage.Queryable, opts upstream.QueryOpts, qs string, start, end time.Time, step time.Duration) (upstream.Query, error) {
	if e.opts.Shards < 2 || !mayShard(qs) {
		return nil, nil
	}
	expr, err := e.front.ParseExpr(qs)
	if err != nil {
		return nil, nil // the upstream engine reports it
	}
	plan := planShards(expr)
	if plan == nil {
		return nil, nil
	}
	q := &shardedQuery{e: e, orig: qs, plan: plan, store: store, opts: opts,
		st:      steps{start: start.UnixMilli(), end: end.UnixMilli(), step: max(step.Milliseconds(), 1)},
		instant: step == 0,
		res:     &resultQueryable{base: store},
	}
	if q.instant {
		q.outer, err = e.Engine.NewInstantQuery(ctx, q.res, opts, plan.outer, start)
	} else {
		q.outer, err = e.Engine.NewRangeQuery(ctx, q.res, opts, plan.outer, start, end, step)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // waiting for a slot, as the query unsharded would
		}
		return nil, fmt.Errorf("sharded form %q: %w", plan.outer, err)
	}
	return q, nil
}

// mayShard is a quick test before parsing: a query without any of the
// shardable aggregations' names has nothing to shard.
func mayShard(qs string) bool {
	for _, op := range []string{"sum", "min", "max", "count", "group"} {
		if strings.Contains(qs, op) {
			return true
		}
	}
	return false
}

// newQuery prepares qs on the inner engine with the query's range.
func (q *shardedQuery) newQuery(ctx context.Context, store storage.Queryable, qs string) (upstream.Query, error) {
	if q.instant {
		return q.e.inner.NewInstantQuery(ctx, store, q.opts, qs, time.UnixMilli(q.st.start))
	}
	return q.e.inner.NewRangeQuery(ctx, store, q.opts, qs, time.UnixMilli(q.st.start), time.UnixMilli(q.st.end), time.Duration(q.st.step)*time.Millisecond)
}

// Exec runs the shards of every slot, at most Shards at once, in one of
// the engine's query slots, then the rewritten query over their answers
// in another. The engine's timeout bounds the whole.
func (q *shardedQuery) Exec(ctx context.Context) *upstream.Result {
	ctx, cancel := context.WithTimeout(ctx, q.e.opts.Timeout)
	defer cancel()
	q.mu.Lock()
	q.cancel = cancel
	q.mu.Unlock()
	warns, err := q.inSlot(ctx)
	if err != nil {
		return &upstream.Result{Err: err, Warnings: warns}
	}
	res := q.outer.Exec(ctx)
	res.Warnings = res.Warnings.Merge(warns)
	return res
}

// inSlot runs the shards in a query slot, which it gives back before the
// rewritten query takes one: holding it meanwhile, a query would wait on
// itself with a single slot.
func (q *shardedQuery) inSlot(ctx context.Context) (annotations.Annotations, error) {
	if _, err := q.e.slots.Insert(ctx, q.orig); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, upstream.ErrQueryTimeout("query queue")
		}
		return nil, upstream.ErrQueryCanceled("query queue")
	}
	defer q.e.slots.Delete(0)
	return q.runShards(ctx)
}

// runShards fills q.res with every slot's answers.
func (q *shardedQuery) runShards(ctx context.Context) (annotations.Annotations, error) {
	n := q.e.opts.Shards
	split := newSplitQueryable(q.store, n)
	defer split.close()
	slots := make([][]storage.Series, len(q.plan.inner))
	var (
		mu    sync.Mutex
		warns annotations.Annotations
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for k, inner := range q.plan.inner {
		for i := range n {
			g.Go(func() error {
				sq, err := q.newQuery(gctx, split.shard(i), inner)
				if err != nil {
					return err
				}
				defer sq.Close()
				r := sq.Exec(gctx)
				if r.Err != nil {
					return r.Err
				}
				ss := answerSeries(r.Value, i, q.st)
				mu.Lock()
				defer mu.Unlock()
				slots[k] = append(slots[k], ss...)
				warns = warns.Merge(r.Warnings)
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return warns, err
	}
	for _, s := range slots {
		slices.SortFunc(s, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	}
	q.res.slots = slots
	return warns, nil
}

// Close releases the rewritten query's answer.
func (q *shardedQuery) Close() { q.outer.Close() }

// Statement is the rewritten query's statement.
func (q *shardedQuery) Statement() parser.Statement { return q.outer.Statement() }

// Stats are the rewritten query's: the shards' work is not in them.
func (q *shardedQuery) Stats() *stats.Statistics { return q.outer.Stats() }

// Cancel stops a running Exec.
func (q *shardedQuery) Cancel() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cancel != nil {
		q.cancel()
	}
	q.outer.Cancel()
}

// String is the query as it was asked.
func (q *shardedQuery) String() string { return q.orig }
