package head

import (
	"context"
	"runtime"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Select returns the series matching all matchers that have samples in
// [mint, maxt], sorted by labels. It honours ctx between series.
func (h *Head) Select(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]*Series, error) {
	out, err := h.SelectUnsorted(ctx, mint, maxt, ms...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out, nil
}

// parallelSelect is the fewest series a selection snapshots on more than
// one goroutine: below it, starting them costs more than they save.
const parallelSelect = 4096

// SelectUnsorted is Select in no particular order, for readers that do
// not merge by labels (the PromQL engine does not need its series
// sorted). A large selection is snapshotted on up to GOMAXPROCS
// goroutines, each with its own scratch memory, which it has ended by the
// time SelectUnsorted returns.
func (h *Head) SelectUnsorted(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]*Series, error) {
	refs := h.index.match(ms)
	parts := min(runtime.GOMAXPROCS(0), len(refs)/parallelSelect)
	if parts <= 1 {
		return h.snapshots(ctx, refs, mint, maxt)
	}
	outs := make([][]*Series, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(refs)/parts, (i+1)*len(refs)/parts
		wg.Go(func() { outs[i], errs[i] = h.snapshots(ctx, refs[lo:hi], mint, maxt) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(outs...), nil
}

// snapshots takes the snapshots of the series refs in [mint, maxt] with
// their labels, in the order of refs, leaving out the series gone or
// without samples there.
func (h *Head) snapshots(ctx context.Context, refs []model.SeriesRef, mint, maxt int64) ([]*Series, error) {
	out := make([]*Series, 0, len(refs))
	var b labels.ScratchBuilder
	a := newSnapArena(len(refs))
	for i, ref := range refs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s := h.series.getByRef(ref)
		if s == nil {
			continue
		}
		if snap := s.snapshotIn(a, mint, maxt, h.win); snap != nil {
			snap.Labels = h.labelsOf(s, &b)
			out = append(out, snap)
		}
	}
	return out, nil
}

// snapArena hands out the memory of many snapshots from a few large
// blocks instead of an allocation each. What it hands out is never
// reused: the blocks stay alive while any snapshot cut from them is.
// A nil arena allocates each piece on its own.
type snapArena struct {
	series []Series
	meta   []ChunkMeta
	bytes  []byte
	// Sizes of the next blocks: those of a few hundred series, or of the
	// series there are when fewer.
	nSeries, nMetas, nBytes int
}

// Largest sizes of the arena's blocks: enough for a few hundred series.
const (
	arenaSeries = 256
	arenaMetas  = 512
	arenaBytes  = 32 << 10
)

// newSnapArena returns an arena for the snapshots of at most n series:
// a selection of one series takes a few hundred bytes, not the blocks of
// hundreds.
func newSnapArena(n int) *snapArena {
	n = max(n, 1)
	return &snapArena{nSeries: min(arenaSeries, n), nMetas: min(arenaMetas, 2*n), nBytes: min(arenaBytes, 256*n)}
}

// newSeries returns a zero Series.
func (a *snapArena) newSeries() *Series {
	if a == nil {
		return &Series{}
	}
	if len(a.series) == cap(a.series) {
		a.series = make([]Series, 0, a.nSeries)
	}
	a.series = a.series[:len(a.series)+1]
	return &a.series[len(a.series)-1]
}

// unget takes back the Series newSeries returned last, unused.
func (a *snapArena) unget() {
	if a != nil {
		a.series[len(a.series)-1] = Series{}
		a.series = a.series[:len(a.series)-1]
	}
}

// metas returns an empty slice with room for n chunk metas; appending
// more than n allocates.
func (a *snapArena) metas(n int) []ChunkMeta {
	if a == nil || n > a.nMetas/4 {
		return make([]ChunkMeta, 0, n)
	}
	if cap(a.meta)-len(a.meta) < n {
		a.meta = make([]ChunkMeta, 0, a.nMetas)
	}
	lo := len(a.meta)
	a.meta = a.meta[:lo+n]
	return a.meta[lo : lo : lo+n]
}

// copyBytes returns a copy of b.
func (a *snapArena) copyBytes(b []byte) []byte {
	if a == nil || len(b) > a.nBytes/4 {
		return append([]byte(nil), b...)
	}
	if cap(a.bytes)-len(a.bytes) < len(b) {
		a.bytes = make([]byte, 0, a.nBytes)
	}
	lo := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return a.bytes[lo:len(a.bytes):len(a.bytes)]
}
