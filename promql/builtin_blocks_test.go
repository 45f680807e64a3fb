package promql

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// blockStorage is headStorage whose queries read blocks only: before each
// query that follows new appends, everything the head holds is sealed into
// one block (written by block.Write, read back by block.Open), and queries
// go through query.NewWithBlocks over an empty head, so every sample comes
// from a block.
type blockStorage struct {
	*headStorage
	t     testing.TB
	dir   string
	empty *head.Head

	mu    sync.Mutex
	dirty bool
	meta  *block.Meta
	q     *query.Queryable
}

func newBlockStorage(t testing.TB) storage.Storage {
	empty, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = empty.Close() })
	hs := newHeadStorage(t).(*headStorage)
	s := &blockStorage{headStorage: hs, t: t, dir: t.TempDir(), empty: empty}
	s.q = query.NewWithBlocks(empty, s)
	return s
}

func (s *blockStorage) AppenderV2(ctx context.Context) storage.AppenderV2 {
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
	return s.headStorage.AppenderV2(ctx)
}

func (s *blockStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	if err := s.seal(); err != nil {
		return nil, err
	}
	return s.q.Querier(mint, maxt)
}

func (s *blockStorage) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	if err := s.seal(); err != nil {
		return nil, err
	}
	return s.q.ChunkQuerier(mint, maxt)
}

// seal writes everything the head holds into one block, replacing the
// block written before, when anything was appended since.
func (s *blockStorage) seal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	s.dirty = false
	series, err := s.h.WindowSeries(context.Background(), model.MinTime, model.MaxTime)
	if err != nil {
		return err
	}
	if s.meta != nil {
		if err := os.RemoveAll(filepath.Join(s.dir, s.meta.ULID.String())); err != nil {
			return err
		}
		s.meta = nil
	}
	mint, maxt, ok := seriesRange(series)
	if !ok {
		return nil
	}
	m, err := block.Write(context.Background(), s.dir, mint, maxt+1, series, block.WriteOptions{})
	if err != nil {
		return err
	}
	s.meta = &m
	return nil
}

// seriesRange returns the time range of every chunk of series.
func seriesRange(series []model.ChunkSeries) (mint, maxt int64, ok bool) {
	for _, s := range series {
		for _, c := range s.Chunks {
			mint, maxt, ok = widen(mint, maxt, ok, c.MinT, c.MaxT)
		}
		for _, c := range s.Histograms {
			mint, maxt, ok = widen(mint, maxt, ok, c.MinT, c.MaxT)
		}
	}
	return mint, maxt, ok
}

func widen(mint, maxt int64, ok bool, lo, hi int64) (int64, int64, bool) {
	if !ok {
		return lo, hi, true
	}
	return min(mint, lo), max(maxt, hi), true
}

// Metas and Open make blockStorage the query.Blocks of its one block.
func (s *blockStorage) Metas(mint, maxt int64) []block.Meta {
	if s.meta == nil || !s.meta.Overlaps(mint, maxt) {
		return nil
	}
	return []block.Meta{*s.meta}
}

func (s *blockStorage) Open(_ context.Context, id ulid.ULID) (*block.Block, func(), error) {
	b, err := block.Open(filepath.Join(s.dir, id.String()))
	if err != nil {
		return nil, nil, err
	}
	return b, func() { _ = b.Close() }, nil
}

// TestUpstreamScriptsOverBlocks runs the prometheus module's PromQL test
// scripts with every sample read back from a block.
func TestUpstreamScriptsOverBlocks(t *testing.T) {
	eng := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	promqltest.RunBuiltinTestsWithStorage(skippingT{t}, eng, newBlockStorage)
}
