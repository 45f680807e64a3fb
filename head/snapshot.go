package head

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Snapshot writes a WAL checkpoint now and then makes dir/wal a copy of the
// WAL directory from which a head opens with every sample acknowledged
// before the call (docs/admin.md). Closed segments and the checkpoint are
// hard links (they never change again), falling back to copies where the
// file system refuses links; the newest segment, still being written, is
// copied. Windows reported uploaded (SetShipped) are left out of the
// checkpoint and restore from their blocks in the bucket.
//
// dir must not exist yet; it is created. Background checkpoints wait while
// the files are linked, so none of them is deleted under the snapshot.
func (h *Head) Snapshot(ctx context.Context, dir string) error {
	if err := h.Checkpoint(ctx); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	h.checkpointMu.Lock()
	defer h.checkpointMu.Unlock()
	if h.closed.Load() {
		return fmt.Errorf("snapshot: %w", model.ErrClosed)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := linkWAL(h.wal.Dir(), filepath.Join(dir, "wal")); err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return nil
}

// linkWAL fills dst with the segments and checkpoints of the WAL in src.
func linkWAL(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	newest := -1
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && !e.IsDir() {
			newest = max(newest, n)
		}
	}
	for _, e := range entries {
		name := e.Name()
		switch n, err := strconv.Atoi(name); {
		case err == nil && !e.IsDir():
			err = linkFile(filepath.Join(src, name), filepath.Join(dst, name), n == newest)
			if err != nil {
				return err
			}
		case e.IsDir() && strings.HasPrefix(name, "checkpoint.") && !strings.HasSuffix(name, ".tmp"):
			if err := linkWAL(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
				return err
			}
		}
	}
	return syncDir(dst)
}

// linkFile hard-links src at dst, or copies it when copyIt is set or the
// link is refused.
func linkFile(src, dst string, copyIt bool) error {
	if !copyIt && os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
