package query

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// damagedBlock writes one block of four series of ten samples a minute
// apart: a_good intact; b_crc whose chunk bytes are changed on disk after
// writing (its checksum no longer matches); c_shifted whose chunk starts a
// minute after the time the index lists; d_truncated whose chunk stream
// ends after a few of the samples its header counts.
func damagedBlock(t *testing.T) *localBlocks {
	t.Helper()
	samples := make([]model.Sample, 10)
	for i := range samples {
		samples[i] = model.Sample{T: int64(i) * 60_000, V: float64(i)}
	}
	good := func() []model.Chunk { return encodeChunks(t, samples) }
	shifted := good()
	shifted[0].Data = encodeChunks(t, []model.Sample{{T: 60_000, V: 1}, {T: 120_000, V: 2}})[0].Data
	truncated := good()
	truncated[0].Data = truncated[0].Data[:12]
	crc := good()
	series := []model.ChunkSeries{
		{Labels: labels.FromStrings("__name__", "a_good"), Chunks: good()},
		{Labels: labels.FromStrings("__name__", "b_crc"), Chunks: crc},
		{Labels: labels.FromStrings("__name__", "c_shifted"), Chunks: shifted},
		{Labels: labels.FromStrings("__name__", "d_truncated"), Chunks: truncated},
	}
	dir := t.TempDir()
	meta, err := block.Write(context.Background(), dir, 0, window, series, block.WriteOptions{})
	require.NoError(t, err)
	bdir := filepath.Join(dir, meta.ULID.String())

	// Chunks are written in series order: b_crc's bytes follow a_good's.
	seg := filepath.Join(bdir, block.ChunksDirname, "000001")
	raw, err := os.ReadFile(seg)
	require.NoError(t, err)
	at := bytes.Index(raw[bytes.Index(raw, crc[0].Data)+1:], crc[0].Data) + bytes.Index(raw, crc[0].Data) + 1
	require.Greater(t, at, 0, "b_crc's chunk in the segment")
	raw[at+len(crc[0].Data)/2] ^= 0xff
	require.NoError(t, os.WriteFile(seg, raw, 0o666))

	return &localBlocks{metas: []block.Meta{meta}, dirs: map[ulid.ULID]string{meta.ULID: bdir}}
}

// TestDamagedBlockChunksAreWarnedAndCounted reads a block with damaged
// chunks: the intact series is answered, each chunk that cannot be read
// or does not start where the index says is left out with a warning naming
// its series and block and is counted, and a chunk that breaks off while
// being iterated fails the read with an error naming its series.
func TestDamagedBlockChunksAreWarnedAndCounted(t *testing.T) {
	blocks := damagedBlock(t)
	reg := prometheus.NewRegistry()
	q := NewWithBlocks(emptyHead(t), blocks, WithRegisterer(reg))
	sq, err := q.Querier(0, window)
	require.NoError(t, err)

	ss := sq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", "a_good|b_crc|c_shifted"))
	var names []string
	for ss.Next() {
		names = append(names, ss.At().Labels().Get("__name__"))
		it := ss.At().Iterator(nil)
		n := 0
		for it.Next() == pchunkenc.ValFloat {
			n++
		}
		require.NoError(t, it.Err())
		require.Equal(t, 10, n)
	}
	require.NoError(t, ss.Err())
	require.Equal(t, []string{"a_good"}, names)
	warns := ss.Warnings().AsErrors()
	require.Len(t, warns, 2)
	text := errors.Join(warns...).Error()
	for _, want := range []string{"b_crc", "c_shifted", blocks.metas[0].ULID.String()} {
		require.True(t, strings.Contains(text, want), "warnings %q name %s", text, want)
	}
	require.Equal(t, 2.0, testutil.ToFloat64(q.corrupt.count.WithLabelValues("block")))

	ss = sq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "d_truncated"))
	require.True(t, ss.Next())
	it := ss.At().Iterator(nil)
	for it.Next() == pchunkenc.ValFloat {
	}
	require.ErrorIs(t, it.Err(), chunkenc.ErrCorrupt)
	require.ErrorContains(t, it.Err(), "d_truncated")
	require.Equal(t, 3.0, testutil.ToFloat64(q.corrupt.count.WithLabelValues("block")))
	n, err := testutil.GatherAndCount(reg, "gorilla_query_corrupt_chunks_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}
