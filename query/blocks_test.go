package query

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
)

const window = int64(2 * time.Hour / time.Millisecond)

// localBlocks serves blocks written to a local directory: the Blocks
// interface without a bucket.
type localBlocks struct {
	metas []block.Meta
	dirs  map[ulid.ULID]string
	opens atomic.Int64
}

func (l *localBlocks) Metas(mint, maxt int64) []block.Meta {
	var out []block.Meta
	for _, m := range l.metas {
		if m.Overlaps(mint, maxt) {
			out = append(out, m)
		}
	}
	return out
}

func (l *localBlocks) Open(_ context.Context, id ulid.ULID) (*block.Block, func(), error) {
	b, err := block.Open(l.dirs[id])
	if err != nil {
		return nil, nil, err
	}
	l.opens.Add(1)
	return b, func() { _ = b.Close() }, nil
}

// sealWindows writes a block of each window [w*window, (w+1)*window) of h.
func sealWindows(t *testing.T, h *head.Head, windows ...int64) *localBlocks {
	t.Helper()
	dir := t.TempDir()
	l := &localBlocks{dirs: map[ulid.ULID]string{}}
	for _, w := range windows {
		series, err := h.WindowSeries(context.Background(), w*window, (w+1)*window-1)
		require.NoError(t, err)
		meta, err := block.Write(context.Background(), dir, w*window, (w+1)*window, series, block.WriteOptions{})
		require.NoError(t, err)
		l.metas = append(l.metas, meta)
		l.dirs[meta.ULID] = filepath.Join(dir, meta.ULID.String())
	}
	return l
}

// threeWindows returns a head holding two series every minute over three
// windows, and one series only in the first window.
func threeWindows(t *testing.T) (*head.Head, int) {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16, Retention: 100 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	n := 0
	for ts := int64(0); ts < 3*window; ts += 60_000 {
		for _, inst := range []string{"a", "b"} {
			_, err := app.Append(0, labels.FromStrings("__name__", "up", "instance", inst), ts, float64(ts/1000))
			require.NoError(t, err)
			n++
		}
		if ts < window {
			_, err := app.Append(0, labels.FromStrings("__name__", "old_only"), ts, 1)
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	return h, n
}

// collect reads every sample of the up series through q, requiring each
// timestamp once and in order.
func collect(t *testing.T, q *Queryable, mint, maxt int64) int {
	t.Helper()
	sq, err := q.Querier(mint, maxt)
	require.NoError(t, err)
	defer sq.Close()
	ss := sq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
	n := 0
	var it pchunkenc.Iterator
	for ss.Next() {
		it = ss.At().Iterator(it)
		last := int64(math.MinInt64)
		for it.Next() == pchunkenc.ValFloat {
			ts, v := it.At()
			require.Greater(t, ts, last, "%s: samples in order, each once", ss.At().Labels())
			require.GreaterOrEqual(t, ts, mint)
			require.LessOrEqual(t, ts, maxt)
			require.Equal(t, float64(ts/1000), v)
			last = ts
			n++
		}
		require.NoError(t, it.Err())
	}
	require.NoError(t, ss.Err())
	return n
}

// countChunkSamples reads the up series as chunks.
func countChunkSamples(t *testing.T, q *Queryable, mint, maxt int64) int {
	t.Helper()
	cq, err := q.ChunkQuerier(mint, maxt)
	require.NoError(t, err)
	ss := cq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
	n := 0
	for ss.Next() {
		it := ss.At().Iterator(nil)
		lastMax := int64(math.MinInt64)
		for it.Next() {
			m := it.At()
			require.Greater(t, m.MinTime, lastMax, "chunks do not overlap")
			lastMax = m.MaxTime
			n += m.Chunk.NumSamples()
		}
	}
	require.NoError(t, ss.Err())
	return n
}

func TestBlocksAndHeadJoinWithoutDuplicates(t *testing.T) {
	h, n := threeWindows(t)
	blocks := sealWindows(t, h, 0, 1)
	q := NewWithBlocks(h, blocks)

	// The head still holds everything: it answers alone.
	require.Equal(t, int64(0), q.boundary())
	require.Equal(t, n, collect(t, q, 0, 3*window))
	require.Zero(t, blocks.opens.Load())

	// The head released the first window and part of the second: the
	// blocks answer up to the next window boundary.
	h.Truncate(window + window/2)
	require.Equal(t, 2*window, q.boundary())
	require.Equal(t, n, collect(t, q, 0, 3*window))
	require.Equal(t, n, countChunkSamples(t, q, 0, 3*window))
	require.NotZero(t, blocks.opens.Load())

	// Ranges that touch one side only.
	require.Equal(t, 2*60, collect(t, q, 0, 59*60_000))
	require.Equal(t, 2*60, collect(t, q, 2*window, 2*window+59*60_000))
	require.Equal(t, 2*2, collect(t, q, 2*window-60_000, 2*window))

	// Label queries see the series only the blocks hold.
	lq, err := q.Querier(0, 3*window)
	require.NoError(t, err)
	vals, _, err := lq.LabelValues(context.Background(), "__name__", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"old_only", "up"}, vals)
	vals, _, err = lq.LabelValues(context.Background(), "instance", nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, vals)
	names, _, err := lq.LabelNames(context.Background(), nil)
	require.NoError(t, err)
	require.True(t, slices.Contains(names, "instance"))

	// A range after the boundary reads no block.
	before := blocks.opens.Load()
	require.Equal(t, 2*60, collect(t, q, 2*window+60*60_000, 2*window+119*60_000))
	require.Equal(t, before, blocks.opens.Load())
}

func TestBoundaryWhenBlocksEndBeforeHead(t *testing.T) {
	h, n := threeWindows(t)
	blocks := sealWindows(t, h, 0)
	q := NewWithBlocks(h, blocks)
	// The head holds data from the middle of the second window on (it keeps
	// the chunk that reaches past the cut whole), and no block holds that
	// window: the head answers from the window start.
	h.Truncate(window + window/2)
	require.Equal(t, window, q.boundary())
	require.Equal(t, n, collect(t, q, 0, 3*window))
}

func TestEmptyHeadReadsBlocksOnly(t *testing.T) {
	h, n := threeWindows(t)
	blocks := sealWindows(t, h, 0, 1, 2)
	empty, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, empty.Close()) })
	q := NewWithBlocks(empty, blocks)
	require.Equal(t, int64(math.MaxInt64), q.boundary())
	require.Equal(t, n, collect(t, q, 0, 3*window))
	require.Equal(t, n, countChunkSamples(t, q, 0, 3*window))
}

func TestBlockIteratorSeek(t *testing.T) {
	h, _ := threeWindows(t)
	series, err := h.WindowSeries(context.Background(), 0, 3*window-1)
	require.NoError(t, err)
	var up []int
	for i, s := range series {
		if s.Labels.Get("__name__") == "up" {
			up = append(up, i)
		}
	}
	chunks := series[up[0]].Chunks
	require.Len(t, chunks, 3)
	it := newBlockIterator(chunks, 60_000, 3*window)
	require.Equal(t, pchunkenc.ValFloat, it.Next())
	require.Equal(t, int64(60_000), it.AtT())
	// Into the third chunk, past the second.
	require.Equal(t, pchunkenc.ValFloat, it.Seek(2*window+30_000))
	require.Equal(t, 2*window+60_000, it.AtT())
	// Never backwards.
	require.Equal(t, pchunkenc.ValFloat, it.Seek(0))
	require.Equal(t, 2*window+60_000, it.AtT())
	require.Equal(t, pchunkenc.ValNone, it.Seek(3*window))
	require.NoError(t, it.Err())
}
