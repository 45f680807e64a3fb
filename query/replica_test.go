package query

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// replicaWindow is the window the replica tests write, aligned like the
// shipper's.
const replicaWindow = int64(10) * window

// replicaSet is what the replica tests write: per node, per series, the
// samples of that node's replica block of replicaWindow. Node "a" and "b"
// hold the same samples of up{instance="x"} (byte-equal chunks); of
// up{instance="y"} they hold interleaved halves with a shared middle, and
// "c" lacks it; only "c" holds down{}. "c" also holds a stale marker.
func replicaSet() map[string]map[string][]model.Sample {
	x, yEven, yOdd, yC, down := []model.Sample{}, []model.Sample{}, []model.Sample{}, []model.Sample{}, []model.Sample{}
	for i := range int64(120) {
		ts := replicaWindow + i*60_000
		x = append(x, model.Sample{T: ts, V: float64(i)})
		switch {
		case i >= 50 && i < 70:
			yEven = append(yEven, model.Sample{T: ts, V: float64(i) * 2})
			yOdd = append(yOdd, model.Sample{T: ts, V: float64(i) * 2})
		case i%2 == 0:
			yEven = append(yEven, model.Sample{T: ts, V: float64(i) * 2})
		default:
			yOdd = append(yOdd, model.Sample{T: ts, V: float64(i) * 2})
		}
		if i < 30 {
			yC = append(yC, model.Sample{T: ts, V: float64(i) * 2})
		}
		if i%10 == 0 {
			v := float64(-i)
			if i == 60 {
				v = math.Float64frombits(model.StaleNaN)
			}
			down = append(down, model.Sample{T: ts + 7, V: v})
		}
	}
	const ux, uy, dn = `{__name__="up", instance="x"}`, `{__name__="up", instance="y"}`, `{__name__="down"}`
	return map[string]map[string][]model.Sample{
		"a": {ux: x, uy: yEven},
		"b": {ux: x, uy: yOdd},
		"c": {ux: x[:100], uy: yC, dn: down},
	}
}

// union returns the samples of every node's series merged, one per
// timestamp.
func union(set map[string]map[string][]model.Sample) map[string][]model.Sample {
	out := map[string][]model.Sample{}
	for _, series := range set {
		for name, ss := range series {
			out[name] = append(out[name], ss...)
		}
	}
	for name, ss := range out {
		slices.SortStableFunc(ss, func(a, b model.Sample) int { return int(a.T - b.T) })
		out[name] = slices.CompactFunc(ss, func(a, b model.Sample) bool { return a.T == b.T })
	}
	return out
}

// encodeSeries encodes samples by series name into sorted series of one
// chunk each.
func encodeSeries(t testing.TB, series map[string][]model.Sample) []model.ChunkSeries {
	t.Helper()
	var out []model.ChunkSeries
	for name, ss := range series {
		lset, err := parseLabels(name)
		require.NoError(t, err)
		c := chunkenc.NewXORChunk()
		app, err := c.Appender()
		require.NoError(t, err)
		for _, s := range ss {
			require.NoError(t, app.Append(s.T, s.V))
		}
		c.Compact()
		out = append(out, model.ChunkSeries{Labels: lset, Chunks: []model.Chunk{{MinT: ss[0].T, MaxT: ss[len(ss)-1].T, Data: slices.Clone(c.Bytes())}}})
	}
	slices.SortFunc(out, func(a, b model.ChunkSeries) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

// parseLabels reads the {a="b", ...} form of labels.Labels.String.
func parseLabels(s string) (labels.Labels, error) {
	b := labels.NewScratchBuilder(4)
	for _, kv := range strings.Split(strings.Trim(s, "{}"), ", ") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return labels.EmptyLabels(), errors.New("bad label " + kv)
		}
		b.Add(k, strings.Trim(v, `"`))
	}
	b.Sort()
	return b.Labels(), nil
}

// replicaBucket is a filesystem bucket with the store and queryable over
// it (an empty head: every query reads the blocks).
type replicaBucket struct {
	bkt   objstore.Bucket
	dir   string
	store *block.Store
	q     *Queryable
}

func newReplicaBucket(t *testing.T) *replicaBucket {
	t.Helper()
	bkt, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	return newReplicaReader(t, bkt)
}

// newReplicaReader is another node over the bucket bkt: a store and a
// queryable of its own.
func newReplicaReader(t *testing.T, bkt objstore.Bucket) *replicaBucket {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 4})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	store, err := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	return &replicaBucket{bkt: bkt, dir: t.TempDir(), store: store, q: NewWithBlocks(h, store)}
}

// upload writes series as a block of replicaWindow with external labels
// ls and uploads it.
func (r *replicaBucket) upload(t *testing.T, series map[string][]model.Sample, ls map[string]string) block.Meta {
	t.Helper()
	ctx := context.Background()
	m, err := block.Write(ctx, r.dir, replicaWindow, replicaWindow+window, encodeSeries(t, series), block.WriteOptions{Labels: ls})
	require.NoError(t, err)
	require.NoError(t, block.Upload(ctx, r.bkt, filepath.Join(r.dir, m.ULID.String())))
	require.NoError(t, r.store.Sync(ctx))
	return m
}

// uploadReplicas uploads one block per node of set, named by NodeLabel.
func (r *replicaBucket) uploadReplicas(t *testing.T, set map[string]map[string][]model.Sample, nodes ...string) {
	t.Helper()
	for _, n := range nodes {
		r.upload(t, set[n], map[string]string{block.NodeLabel: n})
	}
}

// answer is everything the tests compare: samples (as series and as
// chunks, see stack.read), label names and the values of each.
type answer struct {
	samples map[string][]model.Sample
	names   []string
	values  map[string][]string
}

func (r *replicaBucket) answer(t *testing.T) answer {
	t.Helper()
	ctx := context.Background()
	mint, maxt := replicaWindow-1, replicaWindow+window
	all := labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
	a := answer{samples: (&stack{q: r.q}).read(t, mint, maxt, all), values: map[string][]string{}}
	for _, ss := range a.samples {
		for i := 1; i < len(ss); i++ {
			require.Less(t, ss[i-1].T, ss[i].T, "samples in time order, one per timestamp")
		}
	}
	lq, err := r.q.Querier(mint, maxt)
	require.NoError(t, err)
	defer lq.Close()
	a.names, _, err = lq.LabelNames(ctx, nil)
	require.NoError(t, err)
	for _, n := range a.names {
		a.values[n], _, err = lq.LabelValues(ctx, n, nil)
		require.NoError(t, err)
		vs, _, err := lq.LabelValues(ctx, n, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
		require.NoError(t, err)
		a.values[n+" of up"] = vs
	}
	return a
}

func requireSameAnswer(t *testing.T, want, got answer) {
	t.Helper()
	requireSameSeries(t, want.samples, got.samples)
	require.Equal(t, want.names, got.names)
	require.Equal(t, want.values, got.values)
}

// TestReplicaBlocksReadAsOne: two and three replica blocks of one window,
// with equal, overlapping and disjoint samples, answer exactly like one
// block holding their union: samples, chunks, label names and values.
func TestReplicaBlocksReadAsOne(t *testing.T) {
	set := replicaSet()
	for _, nodes := range [][]string{{"a", "b"}, {"a", "b", "c"}} {
		t.Run(strings.Join(nodes, ""), func(t *testing.T) {
			sub := map[string]map[string][]model.Sample{}
			for _, n := range nodes {
				sub[n] = set[n]
			}
			one := newReplicaBucket(t)
			one.upload(t, union(sub), nil)
			want := one.answer(t)

			reps := newReplicaBucket(t)
			reps.uploadReplicas(t, set, nodes...)
			require.Len(t, reps.store.Metas(math.MinInt64, math.MaxInt64), len(nodes), "replica blocks stay apart")
			got := reps.answer(t)
			requireSameAnswer(t, want, got)
			require.Len(t, got.samples[`{__name__="up", instance="y"}`], 120, "halves of two replicas make the whole")
		})
	}
}

// TestCompactReplicasKeepsAnswers: the answer is the same before the
// compaction, with a merged block beside the replicas (a crash before the
// deletes, and every first pass), after the next pass deleted them, after
// a late replica arrives and after compacting that too; the end is one raw
// block without NodeLabel.
func TestCompactReplicasKeepsAnswers(t *testing.T) {
	ctx := context.Background()
	set := replicaSet()
	one := newReplicaBucket(t)
	one.upload(t, union(set), nil)
	want := one.answer(t)

	r := newReplicaBucket(t)
	r.uploadReplicas(t, set, "a", "b")
	// A block without NodeLabel holding a and b, as a crash after a merge
	// could leave (its sources do not say so: it is merged again).
	r.upload(t, union(map[string]map[string][]model.Sample{"a": set["a"], "b": set["b"]}), map[string]string{})
	r.uploadReplicas(t, set, "c")
	requireSameAnswer(t, want, r.answer(t))

	reg := prometheus.NewRegistry()
	owned := true
	c, err := block.NewCompactor(block.CompactOptions{
		Bucket: r.bkt, Store: r.store, Dir: t.TempDir(), Registerer: reg,
		Owner:        func(start int64) bool { return owned && start == replicaWindow },
		ClosedBefore: func() int64 { return replicaWindow + window },
	})
	require.NoError(t, err)
	defer c.Close()

	owned = false
	require.NoError(t, c.Once(ctx))
	require.Len(t, r.store.AllMetas(), 4, "a window this node does not own is left alone")
	owned = true
	require.NoError(t, c.Once(ctx))
	require.Len(t, r.store.AllMetas(), 5, "the merged block beside the blocks it holds")
	requireSameAnswer(t, want, r.answer(t))
	require.NoError(t, c.Once(ctx))
	requireCompacted(t, r.store, 4)
	requireSameAnswer(t, want, r.answer(t))

	// A replica uploaded after its window was compacted.
	r.uploadReplicas(t, set, "b")
	requireSameAnswer(t, want, r.answer(t))
	require.NoError(t, c.Once(ctx))
	require.Len(t, r.store.AllMetas(), 3)
	requireSameAnswer(t, want, r.answer(t))
	require.NoError(t, c.Once(ctx))
	requireCompacted(t, r.store, 5)
	requireSameAnswer(t, want, r.answer(t))

	require.NoError(t, c.Once(ctx))
	require.Len(t, r.store.AllMetas(), 1, "nothing left to compact")
	require.Equal(t, 6.0, counterValue(t, reg, "gorilla_compaction_runs_total"))
	require.Equal(t, 2.0, counterValue(t, reg, "gorilla_compaction_blocks_merged_total"))
	require.Equal(t, 6.0, counterValue(t, reg, "gorilla_compaction_replicas_deleted_total"))
	require.Equal(t, 0.0, counterValue(t, reg, "gorilla_compaction_failures_total"))
}

// TestMergedBlockAnswersAlone: a node whose store lists a merged block
// beside the replicas it holds answers from the merged block alone, so
// it still answers, the same, once the compaction's next pass deleted
// the replicas and before its store synced again.
func TestMergedBlockAnswersAlone(t *testing.T) {
	ctx := context.Background()
	set := replicaSet()
	one := newReplicaBucket(t)
	one.upload(t, union(set), nil)
	want := one.answer(t)

	r := newReplicaBucket(t)
	r.uploadReplicas(t, set, "a", "b", "c")
	c, err := block.NewCompactor(block.CompactOptions{
		Bucket: r.bkt, Store: r.store, Dir: t.TempDir(), Registerer: prometheus.NewRegistry(),
		ClosedBefore: func() int64 { return replicaWindow + window },
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Once(ctx))
	other := newReplicaReader(t, r.bkt)
	require.NoError(t, other.store.Sync(ctx))
	require.Len(t, other.store.AllMetas(), 4, "the other node lists the merged block and the replicas")
	require.NoError(t, c.Once(ctx))
	requireCompacted(t, r.store, 3)
	require.Len(t, other.store.AllMetas(), 4, "the other node has not synced since")
	requireSameAnswer(t, want, other.answer(t))
}

// requireCompacted checks that the bucket holds one raw block of the
// window, merged from sources level-1 blocks (the sources of a merged
// input count through), without NodeLabel.
func requireCompacted(t *testing.T, store *block.Store, sources int) {
	t.Helper()
	metas := store.AllMetas()
	require.Len(t, metas, 1)
	require.False(t, metas[0].IsReplica())
	require.Equal(t, 2, metas[0].Compaction.Level)
	require.Len(t, metas[0].Compaction.Sources, sources)
}

// failingDeletes fails every Delete, as a bucket lost after the merged
// block's upload.
type failingDeletes struct{ objstore.Bucket }

func (failingDeletes) Delete(context.Context, string) error { return errors.New("bucket unreachable") }

// TestCompactReplicasCrashBeforeDeletes: when the replicas cannot be
// deleted after the merge, queries still answer the same from the merged
// block and the replicas, and a later pass finishes the job without
// merging again.
func TestCompactReplicasCrashBeforeDeletes(t *testing.T) {
	ctx := context.Background()
	set := replicaSet()
	r := newReplicaBucket(t)
	r.uploadReplicas(t, set, "a", "b", "c")
	want := r.answer(t)

	reg := prometheus.NewRegistry()
	opts := block.CompactOptions{
		Bucket: r.bkt, Store: r.store, Dir: t.TempDir(), Registerer: reg,
		ClosedBefore: func() int64 { return math.MaxInt64 },
	}
	c, err := block.NewCompactor(opts)
	require.NoError(t, err)
	require.NoError(t, c.Once(ctx))
	c.Close()
	opts.Bucket = failingDeletes{r.bkt}
	c, err = block.NewCompactor(opts)
	require.NoError(t, err)
	require.Error(t, c.Once(ctx))
	require.Equal(t, 1.0, counterValue(t, reg, "gorilla_compaction_failures_total"))
	c.Close()
	require.Len(t, r.store.AllMetas(), 4, "the merged block beside the three replicas")
	requireSameAnswer(t, want, r.answer(t))

	opts.Bucket = r.bkt
	c, err = block.NewCompactor(opts)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Once(ctx))
	requireCompacted(t, r.store, 3)
	requireSameAnswer(t, want, r.answer(t))
	require.Zero(t, counterValue(t, reg, "gorilla_compaction_blocks_merged_total"), "the last pass only deleted")
}

// TestCompactReplicasWaitsForClosedWindows: a window that ends after
// ClosedBefore is not compacted.
func TestCompactReplicasWaitsForClosedWindows(t *testing.T) {
	r := newReplicaBucket(t)
	r.uploadReplicas(t, replicaSet(), "a", "b")
	c, err := block.NewCompactor(block.CompactOptions{
		Bucket: r.bkt, Store: r.store, Dir: t.TempDir(),
		ClosedBefore: func() int64 { return replicaWindow + window - 1 },
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Once(context.Background()))
	require.Len(t, r.store.AllMetas(), 2)
}

// counterValue reads a counter of reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
