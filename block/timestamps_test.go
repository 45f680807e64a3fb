package block_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// appendAt appends, for two series, one sample at each of ts (in order),
// whose value is its timestamp.
func (f *fixture) appendAt(t *testing.T, ts ...int64) {
	t.Helper()
	app := f.head.Appender()
	for _, at := range ts {
		for _, inst := range []string{"a", "b"} {
			_, err := app.Append(0, labels.FromStrings("__name__", "up", "instance", inst), at, float64(at))
			require.NoError(t, err, "sample at %d", at)
		}
	}
	require.NoError(t, app.Commit())
}

// TestShipperSealsAtTheEdgesOfTheRange: windows at both ends of the
// accepted range are sealed and uploaded like any other; the newest window
// stays in the head.
func TestShipperSealsAtTheEdgesOfTheRange(t *testing.T) {
	f := newFixture(t)
	bd := win.Milliseconds()
	first := model.WindowStart(model.MinTime, bd)
	last := model.WindowStart(model.MaxTime, bd)
	f.appendAt(t, model.MinTime, model.MinTime+1, first+bd-1, -bd-1, -1, 0, 1, bd-1, bd, last-bd, last-1, model.MaxTime)
	require.NoError(t, f.shipper.Once(context.Background()))
	require.Equal(t, map[int64]int{
		first: 2 * 3, -2 * bd: 2, -bd: 2, 0: 2 * 3, bd: 2, last - bd: 2 * 2,
	}, f.bucketSamples(t))
	require.Equal(t, last, f.head.SealedBefore(), "every window before the newest one is closed")
	require.Equal(t, []float64{float64(model.MaxTime)}, values(t, f.head, model.MaxTime))
}

func values(t *testing.T, h *head.Head, ts int64) []float64 {
	t.Helper()
	got, err := h.Range(labels.FromStrings("__name__", "up", "instance", "a"), ts, math.MaxInt64)
	require.NoError(t, err)
	var out []float64
	for _, s := range got {
		out = append(out, s.V)
	}
	return out
}

// sourceWithMinTime reports a min time of its own choosing, as a head that
// took a sample outside the range before the range was enforced did.
type sourceWithMinTime struct {
	*head.Head
	min int64
}

func (s sourceWithMinTime) MinTime() int64 { return s.min }

// TestShipperSealsWhateverTheSourceMinTime: a source whose min time lies
// far outside the range does not overflow the window arithmetic.
func TestShipperSealsWhateverTheSourceMinTime(t *testing.T) {
	for _, minT := range []int64{math.MinInt64, -9223372036854000000, model.MinTime - 1} {
		f := newFixture(t)
		f.appendAt(t, 0, win.Milliseconds()/2, 2*win.Milliseconds())
		sh, err := block.NewShipper(block.ShipperOptions{
			Source: sourceWithMinTime{f.head, minT}, Bucket: f.bucket, Dir: filepath.Join(f.dir, "blocks"), Store: f.store,
			Now: f.clock.Now,
		})
		require.NoError(t, err)
		require.NoError(t, sh.Once(context.Background()))
		sh.Close()
		require.Equal(t, map[int64]int{0: 2 * 2}, f.bucketSamples(t), "source min time %d", minT)
	}
}

// TestWriteAtTheEdgesOfTheRange: block IDs carry a time of 48 bits; blocks
// later than that still get one.
func TestWriteAtTheEdgesOfTheRange(t *testing.T) {
	bd := win.Milliseconds()
	for _, mint := range []int64{model.WindowStart(model.MinTime, bd), model.WindowStart(model.MaxTime, bd), 1 << 48} {
		series := []model.ChunkSeries{{Labels: labels.FromStrings("__name__", "up"), Chunks: []model.Chunk{chunkAt(t, mint+1)}}}
		dir := t.TempDir()
		m, err := block.Write(context.Background(), dir, mint, mint+bd, series, block.WriteOptions{})
		require.NoError(t, err, "block at %d", mint)
		b, err := block.Open(filepath.Join(dir, m.ULID.String()))
		require.NoError(t, err)
		got, err := b.Select(context.Background(), mint, mint+bd-1)
		require.NoError(t, err)
		require.NoError(t, b.Close())
		require.Len(t, got, 1)
		require.Equal(t, mint+1, got[0].Chunks[0].MinT)
	}
}

// chunkAt returns a chunk of one sample at ts.
func chunkAt(t *testing.T, ts int64) model.Chunk {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	require.NoError(t, err)
	require.NoError(t, app.Append(ts, 1))
	c.Compact()
	return model.Chunk{MinT: ts, MaxT: ts, Data: c.Bytes()}
}
