package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// AdminHead is what the admin operations need of the in-memory store
// (head.Head has both).
type AdminHead interface {
	// DeleteRange drops from memory the samples in [mint, maxt] of the
	// series matching all of ms and returns how many.
	DeleteRange(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) (int, error)
	// Snapshot checkpoints the head and writes a restorable copy of its
	// WAL into dir/wal; dir must not exist.
	Snapshot(ctx context.Context, dir string) error
	// MaxTime is the newest timestamp the head has taken.
	MaxTime() int64
	// Checkpoint writes what the head holds into a WAL checkpoint and
	// deletes the segments it replaces.
	Checkpoint(ctx context.Context) error
}

// AdminOptions configure an Admin.
type AdminOptions struct {
	Head       AdminHead   // required
	Tombstones *Tombstones // required; the Queryable's (WithTombstones)
	// Dir is the storage directory; snapshots go to Dir/snapshots/<name>.
	// Required.
	Dir string
	// Seal, if set, seals the closed windows and uploads the pending
	// blocks before a snapshot (the block shipper's Once).
	Seal func(ctx context.Context) error
	// Now is the clock naming snapshots; time.Now when nil.
	Now func() time.Time
}

// Admin carries out the TSDB admin operations (docs/admin.md) over a head,
// its tombstones and its storage directory. It implements promql.Admin.
type Admin struct {
	opts AdminOptions
}

// NewAdmin returns the admin operations over opts.
func NewAdmin(opts AdminOptions) (*Admin, error) {
	if opts.Head == nil || opts.Tombstones == nil || opts.Dir == "" {
		return nil, errors.New("admin needs a head, tombstones and a directory")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Admin{opts: opts}, nil
}

// DeleteSeries keeps one tombstone per matcher set over [mint, maxt], all
// written in one atomic update of the tombstones file before it returns;
// from then on every read leaves the samples out. Deleting everything
// before a cutoff is DeleteSeries with mint = model.MinTime.
//
// maxt is first limited to the newest sample the head has taken (or the
// clock, if later): a deletion removes data that exists, and the series
// it names keep taking new samples. A range wholly after that is a no-op.
func (a *Admin) DeleteSeries(ctx context.Context, sets [][]*labels.Matcher, mint, maxt int64) error {
	maxt = min(maxt, max(a.opts.Head.MaxTime(), a.opts.Now().UnixMilli()))
	if mint > maxt || len(sets) == 0 {
		return nil
	}
	add := make([]Tombstone, 0, len(sets))
	for _, ms := range sets {
		add = append(add, Tombstone{Tenant: AnonymousTenant, Matchers: ms, Mint: mint, Maxt: maxt})
	}
	if err := a.opts.Tombstones.Add(ctx, add...); err != nil {
		return fmt.Errorf("delete series: %w", err)
	}
	return nil
}

// CleanTombstones drops from the head the samples every tombstone deletes,
// then writes a WAL checkpoint, which replaces the segments that still
// held them: after it, neither memory nor the WAL has them. The tombstones
// stay, since they still mask the blocks, which are not rewritten.
func (a *Admin) CleanTombstones(ctx context.Context) error {
	for _, t := range a.opts.Tombstones.List() {
		if t.Tenant != AnonymousTenant {
			continue
		}
		if _, err := a.opts.Head.DeleteRange(ctx, t.Mint, t.Maxt, t.Matchers...); err != nil {
			return fmt.Errorf("clean tombstones: %w", err)
		}
	}
	if err := a.opts.Head.Checkpoint(ctx); err != nil {
		return fmt.Errorf("clean tombstones: %w", err)
	}
	return nil
}

// Snapshot seals what can be sealed (AdminOptions.Seal), then writes
// Dir/snapshots/<name>: the head's WAL after a fresh checkpoint (unless
// skipHead) and the tombstones. Together with the blocks in the bucket it
// restores the store as of the call (docs/admin.md). The name is the UTC
// time and a random suffix, as Prometheus names its snapshots.
func (a *Admin) Snapshot(ctx context.Context, skipHead bool) (string, error) {
	if a.opts.Seal != nil {
		if err := a.opts.Seal(ctx); err != nil {
			return "", fmt.Errorf("snapshot: seal closed windows: %w", err)
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	name := a.opts.Now().UTC().Format("20060102T150405Z0700") + "-" + hex.EncodeToString(rnd[:])
	parent := filepath.Join(a.opts.Dir, "snapshots")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	dir := filepath.Join(parent, name)
	if skipHead {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", fmt.Errorf("snapshot: %w", err)
		}
	} else if err := a.opts.Head.Snapshot(ctx, dir); err != nil {
		return "", err
	}
	// The tombstones after the WAL: a tombstone added meanwhile masks
	// samples the copied WAL may lack, never the other way round.
	data := EncodeTombstones(a.opts.Tombstones.List())
	if err := writeFileAtomic(filepath.Join(dir, TombstonesFile), data); err != nil {
		return "", fmt.Errorf("snapshot: write tombstones: %w", err)
	}
	return name, nil
}
