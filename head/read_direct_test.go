package head

import (
	"testing"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// directTestChunks encodes three chunks of ten samples each, 1 s apart,
// with a gap of 5 s between chunks.
func directTestChunks(t *testing.T) []ChunkMeta {
	t.Helper()
	var out []ChunkMeta
	ts := int64(0)
	for c := range 3 {
		chk := chunkenc.NewXORChunk()
		app, err := chk.Appender()
		if err != nil {
			t.Fatal(err)
		}
		mint := ts
		for i := range 10 {
			if err := app.Append(ts, float64(c*100+i)); err != nil {
				t.Fatal(err)
			}
			ts += 1000
		}
		out = append(out, ChunkMeta{MinT: mint, MaxT: ts - 1000, Data: chk.Bytes()})
		ts += 5000
	}
	return out
}

// walk records what it yields for a script of operations: a seek to t
// for t >= 0, a Next for -1.
func walk(it *SeriesIterator, script []int64) []model.Sample {
	var out []model.Sample
	for _, op := range script {
		ok := false
		if op < 0 {
			ok = it.Next()
		} else {
			ok = it.Seek(op)
		}
		if !ok {
			out = append(out, model.Sample{T: -1})
			continue
		}
		t, v := it.At()
		out = append(out, model.Sample{T: t, V: v})
	}
	return out
}

// TestSeriesIteratorDirectAsMerged checks that the direct walk of a
// snapshot without out-of-order samples, with the chunks its seeks skip
// undecoded, yields what the merging walk yields, for ranges cutting the
// chunks anywhere and seeks into chunks, into gaps and past the end.
func TestSeriesIteratorDirectAsMerged(t *testing.T) {
	chunks := directTestChunks(t)
	nexts := make([]int64, 40)
	for i := range nexts {
		nexts[i] = -1
	}
	scripts := [][]int64{
		nexts,
		{12_000, -1, -1, 17_000, 17_000, 3_000, -1, 40_000, -1},
		{9_500, 9_500, -1, 25_000, -1, 29_000, 60_000},
		{0, 14_000, -1, 16_000, -1, -1, -1, 31_000, -1},
		{-1, 30_000, 28_000, -1, 38_000, -1},
	}
	ranges := [][2]int64{{0, 40_000}, {3_000, 33_000}, {15_000, 15_000}, {10_000, 14_000}, {50_000, 60_000}, {-5, 9_000}}
	for _, r := range ranges {
		s := &Series{chunks: chunks, mint: r[0], maxt: r[1]}
		for k, script := range scripts {
			direct := s.Iterator(nil)
			if !direct.direct {
				t.Fatal("a snapshot without out-of-order samples is not walked directly")
			}
			merged := s.Iterator(nil)
			merged.direct = false
			got, want := walk(direct, script), walk(merged, script)
			if len(got) != len(want) {
				t.Fatalf("range %v script %d: %d results, want %d", r, k, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("range %v script %d step %d: got %v, want %v", r, k, i, got[i], want[i])
				}
			}
		}
	}
}

// TestSeriesIteratorDirectCorrupt checks that the direct walk reports a
// chunk that does not decode, as the merging walk does.
func TestSeriesIteratorDirectCorrupt(t *testing.T) {
	chunks := directTestChunks(t)
	bad := append([]byte(nil), chunks[1].Data[:5]...)
	chunks[1].Data = bad
	s := &Series{chunks: chunks, mint: 0, maxt: 40_000}
	it := s.Iterator(nil)
	n := 0
	for it.Next() {
		n++
	}
	if it.Err() == nil {
		t.Fatalf("a truncated chunk is not reported; %d samples read", n)
	}
	if n < 10 || n >= 20 {
		t.Fatalf("%d samples before the damage, want the first chunk's 10 and part of the second", n)
	}
}
