package query

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// stack is the storage of a running server in one process: the head, a
// block shipper to a filesystem bucket, the block store and the queryable
// over both, with the head's default windows.
type stack struct {
	dir     string
	bucket  objstore.Bucket
	head    *head.Head
	store   *block.Store
	shipper *block.Shipper
	q       *Queryable
}

func newStack(t testing.TB) *stack {
	t.Helper()
	bkt, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	s := &stack{dir: t.TempDir(), bucket: bkt}
	s.open(t)
	t.Cleanup(s.close)
	return s
}

func (s *stack) open(t testing.TB) {
	t.Helper()
	h, err := head.Open(head.Options{Dir: s.dir, MaintenanceInterval: -1, Stripes: 16, Shipping: true})
	require.NoError(t, err)
	store, err := block.NewStore(block.StoreOptions{Bucket: s.bucket, CacheDir: filepath.Join(s.dir, "cache")})
	require.NoError(t, err)
	require.NoError(t, store.Sync(context.Background()))
	sh, err := block.NewShipper(block.ShipperOptions{
		Source: h, Bucket: s.bucket, Dir: filepath.Join(s.dir, "blocks"), Store: store,
	})
	require.NoError(t, err)
	s.head, s.store, s.shipper, s.q = h, store, sh, NewWithBlocks(h, store)
}

func (s *stack) close() {
	if s.head == nil {
		return
	}
	s.shipper.Close()
	_ = s.store.Close()
	_ = s.head.Close()
	s.head = nil
}

// restart closes everything and opens it again on the same directories:
// the head replays its WAL.
func (s *stack) restart(t testing.TB) {
	t.Helper()
	s.close()
	s.open(t)
}

// seal runs one shipper pass: closed windows are sealed and uploaded.
func (s *stack) seal(t testing.TB) {
	t.Helper()
	require.NoError(t, s.shipper.Once(context.Background()))
}

// blockSamples counts the samples of the blocks in the bucket.
func (s *stack) blockSamples(t testing.TB) int {
	t.Helper()
	n := 0
	for _, m := range s.store.AllMetas() {
		n += int(m.Stats.NumSamples)
	}
	return n
}

// read returns every sample in [mint, maxt] of the series matching ms,
// through a querier, by series; and checks that reading them as chunks
// gives the same.
func (s *stack) read(t testing.TB, mint, maxt int64, ms ...*labels.Matcher) map[string][]model.Sample {
	t.Helper()
	ctx := context.Background()
	sq, err := s.q.Querier(mint, maxt)
	require.NoError(t, err)
	defer sq.Close()
	out := map[string][]model.Sample{}
	ss := sq.Select(ctx, true, nil, ms...)
	var it pchunkenc.Iterator
	for ss.Next() {
		it = ss.At().Iterator(it)
		var got []model.Sample
		for it.Next() == pchunkenc.ValFloat {
			ts, v := it.At()
			got = append(got, model.Sample{T: ts, V: v})
		}
		require.NoError(t, it.Err())
		if len(got) > 0 {
			out[ss.At().Labels().String()] = got
		}
	}
	require.NoError(t, ss.Err())

	cq, err := s.q.ChunkQuerier(mint, maxt)
	require.NoError(t, err)
	defer cq.Close()
	chunked := map[string][]model.Sample{}
	cs := cq.Select(ctx, true, nil, ms...)
	for cs.Next() {
		ci := cs.At().Iterator(nil)
		var got []model.Sample
		for ci.Next() {
			it := chunkenc.NewIterator(ci.At().Chunk.Bytes())
			for it.Next() {
				ts, v := it.At()
				if ts >= mint && ts <= maxt {
					got = append(got, model.Sample{T: ts, V: v})
				}
			}
			require.NoError(t, it.Err())
		}
		require.NoError(t, ci.Err())
		if len(got) > 0 {
			chunked[cs.At().Labels().String()] = got
		}
	}
	require.NoError(t, cs.Err())
	requireSameSeries(t, out, chunked)
	return out
}

// requireSameSeries compares samples by series, bit for bit.
func requireSameSeries(t testing.TB, want, got map[string][]model.Sample) {
	t.Helper()
	for name, ws := range want {
		gs := got[name]
		require.Equal(t, len(ws), len(gs), "samples of %s", name)
		for i := range ws {
			if ws[i].T != gs[i].T || !model.SameValue(ws[i].V, gs[i].V) {
				t.Fatalf("%s sample %d: got (%d, %x), want (%d, %x)", name, i, gs[i].T, math.Float64bits(gs[i].V),
					ws[i].T, math.Float64bits(ws[i].V))
			}
		}
	}
	for name, gs := range got {
		if _, ok := want[name]; !ok {
			t.Fatalf("unexpected series %s with %d samples", name, len(gs))
		}
	}
}
