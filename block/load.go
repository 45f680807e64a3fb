package block

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// SealedLoader is what LoadSealed needs of the head (head.Head implements
// it; see head/sealed.go for the contracts).
type SealedLoader interface {
	// SealedRange returns the sealed windows that belong in memory, [mint,
	// maxt); empty when mint >= maxt.
	SealedRange() (mint, maxt int64)
	// LoadSealed puts the chunks of sealed windows into memory, skipping
	// the windows it already holds, and returns how many it added.
	LoadSealed(ctx context.Context, series []model.ChunkSeries) (int, error)
}

// LoadStats tell what LoadSealed did.
type LoadStats struct {
	Blocks int // blocks read
	Series int // series handed to the head
	Chunks int // chunks the head added
}

// LoadOptions tune LoadSealedWith.
type LoadOptions struct {
	// Node, when set, is the name of this cluster node: only the raw
	// blocks whose NodeLabel equals it (this node's own replicas) are
	// read, never another node's replicas nor the blocks merged from them,
	// which hold series this node does not own. Loading then stops at the
	// newest window (going back in time) that holds raw blocks but none of
	// this node's: the head's min time may only drop past windows it holds
	// whole, and queries read the older windows from the bucket. Empty:
	// every raw block, as on a single node.
	Node   string
	Logger *slog.Logger // nil: no log
}

// LoadSealed is LoadSealedWith for a single node: every raw block of the
// range is read.
func LoadSealed(ctx context.Context, store *Store, dst SealedLoader, log *slog.Logger) (LoadStats, error) {
	return LoadSealedWith(ctx, store, dst, LoadOptions{Logger: log})
}

// LoadSealedWith reads the raw blocks of the windows in dst.SealedRange
// from store, from its local cache first, then from the bucket, one block
// at a time, newest first, and hands their series to dst. Run it after the
// shipper is ready (NewShipper tells the head what is sealed) and after
// store.Sync; the head may serve meanwhile. It then holds its whole
// retention in memory again, though its checkpoints do not copy the
// uploaded windows.
//
// Only raw blocks lying wholly inside the range are read (and with
// opts.Node only this node's, see LoadOptions); roll-ups are not head
// data. Loading is idempotent: windows the head holds already are skipped.
// A block that cannot be read stops the load with an error; what was
// loaded stays, and queries still reach the blocks in the bucket.
func LoadSealedWith(ctx context.Context, store *Store, dst SealedLoader, opts LoadOptions) (LoadStats, error) {
	var st LoadStats
	mint, maxt := dst.SealedRange()
	if mint >= maxt {
		return st, nil
	}
	began := time.Now()
	metas := loadable(store.Metas(mint, maxt-1), mint, maxt, opts.Node)
	for _, m := range metas {
		n, chunks, err := loadBlock(ctx, store, dst, m)
		st.Series += n
		st.Chunks += chunks
		if err != nil {
			return st, err
		}
		st.Blocks++
	}
	if opts.Logger != nil && st.Blocks > 0 {
		opts.Logger.Info("loaded sealed windows into the head", "mint", mint, "maxt", maxt, "blocks", st.Blocks,
			"series", st.Series, "chunks", st.Chunks, "seconds", time.Since(began).Seconds())
	}
	return st, nil
}

// loadable returns the raw blocks of metas lying wholly inside [mint,
// maxt) that LoadSealedWith reads for node, newest first: the head's min
// time drops one whole window at a time, so queries find every window
// either complete in the head or in its blocks (see head.Head.LoadSealed).
func loadable(metas []Meta, mint, maxt int64, node string) []Meta {
	var raw []Meta
	for _, m := range metas {
		if m.Thanos.Downsample.Resolution == 0 && m.MinTime >= mint && m.MaxTime <= maxt {
			raw = append(raw, m)
		}
	}
	slices.SortFunc(raw, func(a, b Meta) int { return cmp.Compare(b.MinTime, a.MinTime) })
	if node == "" {
		return raw
	}
	var out []Meta
	for i := 0; i < len(raw); {
		j := i
		own := false
		for j < len(raw) && raw[j].MinTime == raw[i].MinTime {
			if raw[j].Thanos.Labels[NodeLabel] == node {
				out, own = append(out, raw[j]), true
			}
			j++
		}
		if !own {
			break
		}
		i = j
	}
	return out
}

// loadBlock hands one block's series to dst.
func loadBlock(ctx context.Context, store *Store, dst SealedLoader, m Meta) (series, chunks int, err error) {
	b, release, err := store.Open(ctx, m.ULID)
	if err != nil {
		return 0, 0, fmt.Errorf("open block %s for the head: %w", m.ULID, err)
	}
	defer release()
	cs, err := b.Select(ctx, m.MinTime, m.MaxTime-1)
	if err != nil {
		return 0, 0, fmt.Errorf("read block %s for the head: %w", m.ULID, err)
	}
	n, err := dst.LoadSealed(ctx, cs)
	if err != nil {
		return len(cs), n, fmt.Errorf("load block %s into the head: %w", m.ULID, err)
	}
	return len(cs), n, nil
}
