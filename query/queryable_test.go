package query

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
)

func openHead(t *testing.T) *head.Head {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	for i, inst := range []string{"a", "b", "c"} {
		lset := labels.FromStrings("__name__", "up", "instance", inst, "job", "node")
		for ts := int64(0); ts < 10; ts++ {
			_, err := app.Append(0, lset, ts*1000, float64(i*100)+float64(ts))
			require.NoError(t, err)
		}
	}
	_, err = app.Append(0, labels.FromStrings("__name__", "other"), 5000, 1)
	require.NoError(t, err)
	require.NoError(t, app.Commit())
	return h
}

func TestSelectSamplesWithHints(t *testing.T) {
	q, err := New(openHead(t)).Querier(0, math.MaxInt64)
	require.NoError(t, err)
	defer q.Close()
	ss := q.Select(context.Background(), true, &storage.SelectHints{Start: 2000, End: 4000},
		labels.MustNewMatcher(labels.MatchRegexp, "instance", "a|c"))
	var got []string
	var it pchunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		var ts []int64
		for it.Next() == pchunkenc.ValFloat {
			ts = append(ts, it.AtT())
		}
		require.NoError(t, it.Err())
		require.Equal(t, []int64{2000, 3000, 4000}, ts, "hints narrow the range")
		got = append(got, s.Labels().Get("instance"))
	}
	require.NoError(t, ss.Err())
	require.Equal(t, []string{"a", "c"}, got, "sorted by labels")

	// Seek never moves back and lands on the first sample at or after t.
	ss = q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "instance", "b"))
	require.True(t, ss.Next())
	it = ss.At().Iterator(nil)
	require.Equal(t, pchunkenc.ValFloat, it.Seek(3500))
	tt, v := it.At()
	require.Equal(t, int64(4000), tt)
	require.Equal(t, 104.0, v)
	require.Equal(t, pchunkenc.ValFloat, it.Seek(1000))
	require.Equal(t, int64(4000), it.AtT())
}

func TestLabelQueries(t *testing.T) {
	q, err := New(openHead(t)).Querier(0, math.MaxInt64)
	require.NoError(t, err)
	names, _, err := q.LabelNames(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"__name__", "instance", "job"}, names)
	vals, _, err := q.LabelValues(context.Background(), "__name__", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"other", "up"}, vals)
	vals, _, err = q.LabelValues(context.Background(), "instance", &storage.LabelHints{Limit: 2},
		labels.MustNewMatcher(labels.MatchEqual, "job", "node"))
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, vals)
	names, _, err = q.LabelNames(context.Background(), nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "other"))
	require.NoError(t, err)
	require.Equal(t, []string{"__name__"}, names)
}

// TestChunksAreStoredBytes checks that chunk queries hand out the stored
// chunks, readable by the Prometheus decoder.
func TestChunksAreStoredBytes(t *testing.T) {
	cq, err := New(openHead(t)).ChunkQuerier(0, math.MaxInt64)
	require.NoError(t, err)
	ss := cq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "instance", "c"))
	require.True(t, ss.Next())
	it := ss.At().Iterator(nil)
	require.True(t, it.Next())
	meta := it.At()
	require.Equal(t, pchunkenc.EncXOR, meta.Chunk.Encoding())
	require.Equal(t, 10, meta.Chunk.NumSamples())
	ref, err := pchunkenc.FromData(pchunkenc.EncXOR, meta.Chunk.Bytes())
	require.NoError(t, err)
	ci := ref.Iterator(nil)
	n := 0
	for ci.Next() == pchunkenc.ValFloat {
		tt, v := ci.At()
		require.Equal(t, int64(n)*1000, tt)
		require.Equal(t, 200+float64(n), v)
		n++
	}
	require.Equal(t, 10, n)
	require.Equal(t, int64(0), meta.MinTime)
	require.Equal(t, int64(9000), meta.MaxTime)
	require.False(t, it.Next())
	require.False(t, ss.Next())
}
