package head

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

func sortSamples(s []model.Sample) {
	slices.SortFunc(s, func(a, b model.Sample) int {
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})
}

func decodeChunkMeta(t testing.TB, c ChunkMeta) []model.Sample {
	t.Helper()
	var out []model.Sample
	it := chunkenc.NewIterator(c.Data)
	for it.Next() {
		ts, v := it.At()
		require.GreaterOrEqual(t, ts, c.MinT)
		require.LessOrEqual(t, ts, c.MaxT)
		out = append(out, model.Sample{T: ts, V: v})
	}
	require.NoError(t, it.Err())
	return out
}
