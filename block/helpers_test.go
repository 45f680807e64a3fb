package block

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// window is the 2h block range the tests use, aligned like the real ones.
const (
	testMint = int64(1_700_006_400_000)
	testMaxt = testMint + 2*3600*1000
)

// sample is one test sample.
type sample struct {
	T int64
	V float64
}

// buildChunk encodes samples with our appender.
func buildChunk(t testing.TB, ss []sample) model.Chunk {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if err := app.Append(s.T, s.V); err != nil {
			t.Fatal(err)
		}
	}
	c.Compact()
	return model.Chunk{MinT: ss[0].T, MaxT: ss[len(ss)-1].T, Data: slices.Clone(c.Bytes())}
}

// genSeries returns n sorted series over [mint, maxt) with samples every
// step ms, cut into chunksPer chunks. Every third series lacks label "a",
// every fifth has a="" omitted and b set; values are random walks.
func genSeries(t testing.TB, rng *rand.Rand, n int, mint, maxt, step int64, chunksPer int) []model.ChunkSeries {
	t.Helper()
	out := make([]model.ChunkSeries, 0, n)
	for i := range n {
		b := labels.NewScratchBuilder(4)
		b.Add("__name__", fmt.Sprintf("metric_%d", i%7))
		if i%3 != 0 {
			b.Add("a", fmt.Sprintf("v%d", i%11))
		}
		if i%5 == 0 {
			b.Add("b", "x")
		}
		b.Add("instance", fmt.Sprintf("host-%04d", i))
		b.Sort()
		var ss []sample
		v := rng.Float64() * 100
		for ts := mint + rng.Int63n(step); ts < maxt; ts += step {
			v += rng.NormFloat64()
			ss = append(ss, sample{ts, v})
		}
		per := (len(ss) + chunksPer - 1) / chunksPer
		var cs []model.Chunk
		for len(ss) > 0 {
			k := min(per, len(ss))
			cs = append(cs, buildChunk(t, ss[:k]))
			ss = ss[k:]
		}
		out = append(out, model.ChunkSeries{Labels: b.Labels(), Chunks: cs})
	}
	slices.SortFunc(out, func(x, y model.ChunkSeries) int { return labels.Compare(x.Labels, y.Labels) })
	return out
}

// decode returns the samples of a stored chunk.
func decode(t testing.TB, data []byte) []sample {
	t.Helper()
	it := chunkenc.NewIterator(data)
	var out []sample
	for it.Next() {
		ts, v := it.At()
		out = append(out, sample{ts, v})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// writeTestBlock writes series into a new block under dir.
func writeTestBlock(t testing.TB, dir string, series []model.ChunkSeries, opts WriteOptions) Meta {
	t.Helper()
	m, err := Write(context.Background(), dir, testMint, testMaxt, series, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return m
}
