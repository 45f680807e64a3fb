package block_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestRestartLoadsSealedWindowsFromBlocks: a checkpoint taken after a
// window is uploaded leaves it out; after a restart LoadSealed brings it
// back into memory from its block, series held only by the block included,
// and loading again adds nothing.
func TestRestartLoadsSealedWindowsFromBlocks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	gone := labels.FromStrings("__name__", "gone")
	require.NoError(t, f.head.Append(gone, 60_000, 7)) // only in window [0, 2h)
	f.write(t, 0, 5*time.Hour)
	require.NoError(t, f.shipper.Once(ctx))
	require.Equal(t, map[int64]int{0: 240}, f.bucketSamples(t))
	require.NoError(t, f.head.Checkpoint(context.Background()))

	f.close()
	f.open(t)
	up := labels.FromStrings("__name__", "up", "instance", "a")
	got, err := f.head.Range(up, 0, win.Milliseconds()-1)
	require.NoError(t, err)
	require.Empty(t, got, "the checkpoint does not copy the uploaded window")

	require.NoError(t, f.store.Sync(ctx))
	st, err := block.LoadSealed(ctx, f.store, f.head, nil)
	require.NoError(t, err)
	require.Equal(t, 1, st.Blocks)
	require.Equal(t, 3, st.Chunks)

	got, err = f.head.Range(up, 0, win.Milliseconds()-1)
	require.NoError(t, err)
	require.Len(t, got, 120, "the window is in memory again")
	for _, s := range got {
		require.Equal(t, float64(s.T), s.V)
	}
	all, err := f.head.Range(up, 0, 5*time.Hour.Milliseconds())
	require.NoError(t, err)
	require.Len(t, all, 300)
	g, err := f.head.Range(gone, 0, win.Milliseconds())
	require.NoError(t, err)
	require.Len(t, g, 1)
	require.Equal(t, 7.0, g[0].V)

	st, err = block.LoadSealed(ctx, f.store, f.head, nil)
	require.NoError(t, err)
	require.Zero(t, st.Chunks, "loading twice adds nothing")
	all, err = f.head.Range(up, 0, 5*time.Hour.Milliseconds())
	require.NoError(t, err)
	require.Len(t, all, 300)

	// A series loaded from a block takes new samples; the commit logs its
	// series record, so the sample survives a restart without the load.
	require.NoError(t, f.head.Append(gone, 5*time.Hour.Milliseconds(), 8))
	f.close()
	f.open(t)
	g, err = f.head.Range(gone, 0, 6*time.Hour.Milliseconds())
	require.NoError(t, err)
	require.Len(t, g, 1, "the new sample survives without the block loaded")
	require.Equal(t, 8.0, g[0].V)
}

// recordingLoader hands each call on to the head and records the window the
// call's chunks lie in and the head's min time once the call returned.
type recordingLoader struct {
	*head.Head
	windows, minTimes []int64
}

func (r *recordingLoader) LoadSealed(ctx context.Context, cs []model.ChunkSeries) (int, error) {
	w := int64(math.MaxInt64)
	for _, s := range cs {
		for _, c := range s.Chunks {
			w = min(w, r.Windows().Start(c.MinT))
		}
	}
	n, err := r.Head.LoadSealed(ctx, cs)
	r.windows = append(r.windows, w)
	r.minTimes = append(r.minTimes, r.MinTime())
	return n, err
}

// TestLoadSealedNewestWindowFirst: the windows come back newest first, and
// the head's min time (where queries split between blocks and head) drops
// to a window only once all of it is loaded, so a query that runs while
// the server loads reads each window whole, from the head or its block.
func TestLoadSealedNewestWindowFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, 0, 7*time.Hour)
	require.NoError(t, f.shipper.Once(ctx))
	require.NoError(t, f.head.Checkpoint(context.Background()))
	f.close()
	f.open(t)
	require.NoError(t, f.store.Sync(ctx))
	before := f.head.MinTime()

	r := &recordingLoader{Head: f.head}
	st, err := block.LoadSealed(ctx, f.store, r, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, st.Blocks, 2, "the test needs several sealed windows")
	bd := win.Milliseconds()
	for i, w := range r.windows {
		require.Less(t, w, before, "window %d was in memory already", w)
		if i > 0 {
			require.Equal(t, r.windows[i-1]-bd, w, "windows are loaded newest first, one after another")
		}
		require.Equal(t, w, r.minTimes[i], "after loading window %d the head's min time is its start", w)
	}
}
