package block_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/block/blocktest"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// openHeadSource opens an empty head as a blocktest.Source.
func openHeadSource(t *testing.T) (*head.Head, blocktest.Source) {
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h, blocktest.Source{Source: h, Append: h.Append, BlockDuration: head.DefaultBlockDuration}
}

// TestHeadSourceContract runs the shipper's source contract against the
// head.
func TestHeadSourceContract(t *testing.T) {
	blocktest.TestSource(t, func(t *testing.T) blocktest.Source {
		_, s := openHeadSource(t)
		return s
	})
}

// TestSourceContractCatchesBrokenSources proves the contract sharp: a head
// broken in one way fails the clause it breaks.
func TestSourceContractCatchesBrokenSources(t *testing.T) {
	cases := []struct {
		clause string
		broken func(h *head.Head) block.Source
	}{
		{"an empty source has no time range", func(h *head.Head) block.Source { return zeroMin{h} }},
		{"min and max time follow the samples", func(h *head.Head) block.Source { return zeroMin{h} }},
		{"window series hold the window's samples", func(h *head.Head) block.Source { return unsorted{h} }},
		{"window series hold the window's samples", func(h *head.Head) block.Source { return unclipped{h} }},
		{"window series stop on a cancelled context", func(h *head.Head) block.Source { return ignoresCtx{h} }},
		{"SealBefore refuses older samples", func(h *head.Head) block.Source { return noSeal{h} }},
		{"windows are the source's and no chunk crosses one", func(h *head.Head) block.Source { return otherWindows{h} }},
		{"SetShipped keeps the data readable", func(h *head.Head) block.Source { return dropsOnShipped{h} }},
	}
	for _, c := range cases {
		t.Run(c.clause, func(t *testing.T) {
			i := slices.IndexFunc(blocktest.Checks(), func(ch blocktest.Check) bool { return ch.Name == c.clause })
			if i < 0 {
				t.Fatalf("no clause %q", c.clause)
			}
			h, s := openHeadSource(t)
			s.Source = c.broken(h)
			err := blocktest.Checks()[i].Run(s)
			if err == nil || errors.Is(err, blocktest.ErrSkip) {
				t.Fatalf("broken source passed %q: err = %v", c.clause, err)
			}
			t.Logf("caught: %v", err)
		})
	}
}

// zeroMin reports 0 as its min time.
type zeroMin struct{ *head.Head }

func (zeroMin) MinTime() int64 { return 0 }

// unsorted returns window series in reverse label order.
type unsorted struct{ *head.Head }

func (u unsorted) WindowSeries(ctx context.Context, mint, maxt int64) ([]model.ChunkSeries, error) {
	cs, err := u.Head.WindowSeries(ctx, mint, maxt)
	slices.Reverse(cs)
	return cs, err
}

// unclipped returns the chunks of the neighbouring windows too.
type unclipped struct{ *head.Head }

func (u unclipped) WindowSeries(ctx context.Context, mint, maxt int64) ([]model.ChunkSeries, error) {
	return u.Head.WindowSeries(ctx, math.MinInt64, math.MaxInt64)
}

// ignoresCtx does not look at its context.
type ignoresCtx struct{ *head.Head }

func (i ignoresCtx) WindowSeries(_ context.Context, mint, maxt int64) ([]model.ChunkSeries, error) {
	return i.Head.WindowSeries(context.Background(), mint, maxt)
}

// noSeal ignores SealBefore.
type noSeal struct{ *head.Head }

func (noSeal) SealBefore(int64) {}

// otherWindows reports windows of another length than it cuts chunks at.
type otherWindows struct{ *head.Head }

func (otherWindows) Windows() model.Windows {
	return model.MustWindows(3*head.DefaultBlockDuration, model.OutOfOrderOff)
}

// dropsOnShipped releases everything from memory once told it is shipped.
type dropsOnShipped struct{ *head.Head }

func (d dropsOnShipped) SetShipped(t int64) {
	d.Head.SetShipped(t)
	d.Truncate(math.MaxInt64)
}
