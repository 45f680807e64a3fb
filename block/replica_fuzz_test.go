package block

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// FuzzMergeReplicas merges two replicas of one series whose chunk bytes
// are arbitrary (a damaged block). It must not panic; when it succeeds,
// the merged series' timestamps are strictly increasing, every chunk
// decodes and holds at most chunkenc.MaxSamples samples, and its bounds
// match its samples.
func FuzzMergeReplicas(f *testing.F) {
	enc := func(ts ...int64) []byte {
		c := chunkenc.NewXORChunk()
		app, _ := c.Appender()
		for _, t := range ts {
			_ = app.Append(t, float64(t))
		}
		return c.Bytes()
	}
	f.Add(enc(1, 2, 3), enc(2, 4))
	f.Add(enc(5), enc())
	f.Add(enc(3, 1), enc(1, 3))
	f.Add([]byte{0, 2, 1}, enc(1))
	lset := labels.FromStrings("__name__", "f")
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) < 2 || len(b) < 2 {
			return
		}
		lists := [][]model.ChunkSeries{
			{{Labels: lset, Chunks: []model.Chunk{{Data: a}}}},
			{{Labels: lset, Chunks: []model.Chunk{{Data: b}}}},
		}
		out, err := MergeReplicas(lists)
		if err != nil || len(out) == 0 || allEqual([]model.ChunkSeries{lists[0][0], lists[1][0]}) {
			return
		}
		last, first := int64(0), true
		for _, c := range out[0].Chunks {
			it := chunkenc.NewIterator(c.Data)
			n := 0
			var mint, maxt int64
			for it.Next() {
				ts, _ := it.At()
				if n == 0 {
					mint = ts
				}
				maxt = ts
				n++
				if !first && ts <= last {
					t.Fatalf("timestamp %d after %d", ts, last)
				}
				last, first = ts, false
			}
			if err := it.Err(); err != nil {
				t.Fatalf("merged chunk does not decode: %v", err)
			}
			if n == 0 || n > chunkenc.MaxSamples || mint != c.MinT || maxt != c.MaxT {
				t.Fatalf("chunk [%d, %d] holds %d samples in [%d, %d]", c.MinT, c.MaxT, n, mint, maxt)
			}
		}
	})
}
