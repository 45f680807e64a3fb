package block

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// samplesOf decodes every chunk of s, checking the chunks' bounds and
// their order.
func samplesOf(t *testing.T, s model.ChunkSeries) []sample {
	t.Helper()
	var out []sample
	for i, c := range s.Chunks {
		ss := decode(t, c.Data)
		if len(ss) == 0 || len(ss) > chunkenc.MaxSamples {
			t.Fatalf("%s chunk %d: %d samples", s.Labels, i, len(ss))
		}
		if ss[0].T != c.MinT || ss[len(ss)-1].T != c.MaxT {
			t.Fatalf("%s chunk %d: samples [%d, %d], chunk says [%d, %d]", s.Labels, i, ss[0].T, ss[len(ss)-1].T, c.MinT, c.MaxT)
		}
		out = append(out, ss...)
	}
	return out
}

func TestMergeReplicas(t *testing.T) {
	x := labels.FromStrings("__name__", "x")
	y := labels.FromStrings("__name__", "y")
	z := labels.FromStrings("__name__", "z")
	stale := math.Float64frombits(model.StaleNaN)
	xs := []sample{{1000, 1}, {2000, 2}, {3000, 3}}
	shared := buildChunk(t, xs)
	a := []model.ChunkSeries{
		{Labels: x, Chunks: []model.Chunk{shared}},
		{Labels: y, Chunks: []model.Chunk{buildChunk(t, []sample{{1000, 10}, {3000, stale}, {5000, 50}})}},
	}
	b := []model.ChunkSeries{
		{Labels: x, Chunks: []model.Chunk{buildChunk(t, xs)}},
		{Labels: y, Chunks: []model.Chunk{
			buildChunk(t, []sample{{2000, 20}, {3000, 99}}),
			buildChunk(t, []sample{{4000, 40}, {6000, 60}}),
		}},
		{Labels: z, Chunks: []model.Chunk{buildChunk(t, []sample{{7000, 70}})}},
	}
	got, err := MergeReplicas([][]model.ChunkSeries{a, b})
	if err != nil {
		t.Fatalf("MergeReplicas: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d series, want 3", len(got))
	}
	if &got[0].Chunks[0].Data[0] != &shared.Data[0] {
		t.Fatalf("series with equal chunks on every replica: chunks were copied")
	}
	if &got[2].Chunks[0].Data[0] != &b[2].Chunks[0].Data[0] {
		t.Fatalf("series of one replica: chunks were copied")
	}
	want := []sample{{1000, 10}, {2000, 20}, {3000, stale}, {4000, 40}, {5000, 50}, {6000, 60}}
	ys := samplesOf(t, got[1])
	if len(ys) != len(want) {
		t.Fatalf("y: got %v, want %v", ys, want)
	}
	for i := range want {
		if ys[i].T != want[i].T || math.Float64bits(ys[i].V) != math.Float64bits(want[i].V) {
			t.Fatalf("y sample %d: got (%d, %x), want (%d, %x): the first replica wins, bit for bit", i,
				ys[i].T, math.Float64bits(ys[i].V), want[i].T, math.Float64bits(want[i].V))
		}
	}
	for i, s := range got {
		if !labels.Equal(s.Labels, []labels.Labels{x, y, z}[i]) {
			t.Fatalf("series %d is %s: not sorted", i, s.Labels)
		}
	}

	one, err := MergeReplicas([][]model.ChunkSeries{a})
	if err != nil || len(one) != len(a) || &one[0] != &a[0] {
		t.Fatalf("one list: got %v, %v; want the list itself", one, err)
	}
}

// TestMergeReplicasCutsFullChunks: more samples than a chunk holds are
// spread over several chunks, none crossing the limit.
func TestMergeReplicasCutsFullChunks(t *testing.T) {
	s := labels.FromStrings("__name__", "many")
	var even, odd []sample
	n := chunkenc.MaxSamples + 100
	for i := range n {
		if i%2 == 0 {
			even = append(even, sample{int64(i), float64(i)})
		} else {
			odd = append(odd, sample{int64(i), float64(i)})
		}
	}
	got, err := MergeReplicas([][]model.ChunkSeries{
		{{Labels: s, Chunks: []model.Chunk{buildChunk(t, even)}}},
		{{Labels: s, Chunks: []model.Chunk{buildChunk(t, odd)}}},
	})
	if err != nil {
		t.Fatalf("MergeReplicas: %v", err)
	}
	if len(got) != 1 || len(got[0].Chunks) != 2 {
		t.Fatalf("got %d series, want 1 with 2 chunks", len(got))
	}
	ss := samplesOf(t, got[0])
	if len(ss) != n {
		t.Fatalf("got %d samples, want %d", len(ss), n)
	}
	for i, x := range ss {
		if x.T != int64(i) || x.V != float64(i) {
			t.Fatalf("sample %d is %v", i, x)
		}
	}
}

// TestMergeReplicasCorruptChunk: a chunk that does not decode fails the
// merge with an error naming the series.
func TestMergeReplicasCorruptChunk(t *testing.T) {
	s := labels.FromStrings("__name__", "broken")
	good := buildChunk(t, []sample{{1, 1}, {2, 2}, {3, 3}})
	bad := buildChunk(t, []sample{{1, 1}, {5, 5}, {9, 9}})
	bad.Data = bad.Data[:len(bad.Data)-2]
	_, err := MergeReplicas([][]model.ChunkSeries{
		{{Labels: s, Chunks: []model.Chunk{good}}},
		{{Labels: s, Chunks: []model.Chunk{bad}}},
	})
	if !errors.Is(err, chunkenc.ErrCorrupt) {
		t.Fatalf("got %v, want an error wrapping chunkenc.ErrCorrupt", err)
	}
}

// TestRollupsSkipReplicaWindows: a window of replica blocks is not rolled
// up (its merged block will be), nor is a window's single replica block; a
// window's single block without NodeLabel is.
func TestRollupsSkipReplicaWindows(t *testing.T) {
	ctx := context.Background()
	bkt, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(3))
	put := func(k int64, ls map[string]string) {
		mint := testMint + k*testWindow
		m, err := Write(ctx, dir, mint, mint+testWindow, genSeries(t, rng, 5, mint, mint+testWindow, 60_000, 1), WriteOptions{Labels: ls})
		if err != nil {
			t.Fatal(err)
		}
		if err := Upload(ctx, bkt, filepath.Join(dir, m.ULID.String())); err != nil {
			t.Fatal(err)
		}
	}
	put(0, map[string]string{NodeLabel: "a"})
	put(0, map[string]string{NodeLabel: "b"})
	put(1, map[string]string{NodeLabel: "a"})
	put(2, nil)
	store, err := NewStore(StoreOptions{Bucket: bkt, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	r, err := NewRollups(RollupOptions{Bucket: bkt, Store: store, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Once(ctx); err != nil {
		t.Fatalf("Once: %v", err)
	}
	rolled := map[int64]int{}
	for _, m := range store.AllMetas() {
		if m.Thanos.Downsample.Resolution != 0 {
			rolled[(m.MinTime-testMint)/testWindow]++
		}
	}
	if len(rolled) != 1 || rolled[2] != 2 {
		t.Fatalf("roll-ups by window: %v, want 2 of window 2 only", rolled)
	}
}

func TestReplicaGroups(t *testing.T) {
	meta := func(mint int64, res int64, ls map[string]string) Meta {
		return Meta{MinTime: mint, MaxTime: mint + 10, Thanos: ThanosMeta{Labels: ls, Downsample: ThanosDownsample{Resolution: res}}}
	}
	node := func(n string) map[string]string { return map[string]string{NodeLabel: n, "region": "eu"} }
	metas := []Meta{
		meta(0, 0, node("a")), meta(0, 0, node("b")), meta(0, 300_000, map[string]string{"region": "eu"}),
		meta(10, 0, map[string]string{"region": "eu"}),                         // one merged block: done
		meta(20, 0, node("a")),                                                 // one replica: rewritten
		meta(30, 0, node("a")), meta(30, 0, map[string]string{"region": "us"}), // other labels: apart
		meta(40, 0, node("a")), meta(40, 0, node("b")), // not owned
		meta(50, 0, node("a")), meta(50, 0, node("b")), // not closed
	}
	got := replicaGroups(metas, 59, func(start int64) bool { return start != 40 })
	var sizes [][2]int64
	for _, g := range got {
		sizes = append(sizes, [2]int64{g[0].MinTime, int64(len(g))})
	}
	want := [][2]int64{{0, 2}, {20, 1}, {30, 1}}
	if len(sizes) != len(want) {
		t.Fatalf("groups (start, blocks): %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("groups (start, blocks): %v, want %v", sizes, want)
		}
	}
}

// BenchmarkMergeReplicas merges three replicas of 10k series of 240
// samples: equal chunks (the common case, no decoding), and replicas that
// each miss every third sample at a different phase (every series decoded
// and encoded again).
func BenchmarkMergeReplicas(b *testing.B) {
	base := benchBlockSeries(b)
	gapped := func(phase int) []model.ChunkSeries {
		out := make([]model.ChunkSeries, len(base))
		for i, s := range base {
			var ss []sample
			for j, x := range decode(b, s.Chunks[0].Data) {
				if j%3 != phase {
					ss = append(ss, x)
				}
			}
			out[i] = model.ChunkSeries{Labels: s.Labels, Chunks: []model.Chunk{buildChunk(b, ss)}}
		}
		return out
	}
	for _, bc := range []struct {
		name  string
		lists [][]model.ChunkSeries
	}{
		{"equal", [][]model.ChunkSeries{base, base, base}},
		{"gaps", [][]model.ChunkSeries{gapped(0), gapped(1), gapped(2)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := MergeReplicas(bc.lists); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSeries*benchSamples), "ns/sample")
		})
	}
}
