package head

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// TestCorruptChunkIsAnErrorNotALoss damages a chunk whose window
// also holds a buffered out-of-order sample: reading the window as chunks
// (which merges the two) fails with the corruption instead of returning
// the samples decoded before the damage as if they were all.
func TestCorruptChunkIsAnErrorNotALoss(t *testing.T) {
	h := openTest(t, nil)
	lset := labels.FromStrings("__name__", "up")
	app := h.Appender()
	for ts := int64(0); ts < 100*60_000; ts += 60_000 {
		_, err := app.Append(0, lset, ts, float64(ts))
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	// One out-of-order sample waits in the buffer.
	require.NoError(t, h.Append(lset, 98*60_000+1, 1))

	s := h.series.getByHash(model.Hash(lset), lset, h.syms)
	s.mu.Lock()
	data := s.chunks[0].chunk.Bytes()
	// The header claims more samples than the stream holds.
	data[0], data[1] = 0xff, 0xff
	s.mu.Unlock()

	_, err := h.WindowSeries(context.Background(), 0, h.win.Block()-1)
	require.Error(t, err)
	require.True(t, errors.Is(err, chunkenc.ErrCorrupt), "got %v, want an error wrapping chunkenc.ErrCorrupt", err)
	require.ErrorContains(t, err, `up`)
}
