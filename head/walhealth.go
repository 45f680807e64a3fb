package head

import (
	"errors"
	"fmt"
	"time"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// The backoff between attempts to make a failed WAL write again: short at
// first, since a full disk is often cleared within seconds, and bounded so
// that the head notices space coming back soon after it does.
const (
	walRetryMin = 100 * time.Millisecond
	walRetryMax = 10 * time.Second
)

// WALError returns nil while the WAL accepts writes. Otherwise it returns
// an error matching model.ErrUnavailable (and wrapping the WAL's
// *wal.UnavailableError) that says why commits fail, or model.ErrClosed after
// Close. The head retries the WAL in the background; WALError turns nil
// again once it writes.
func (h *Head) WALError() error {
	err := h.wal.Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wal.ErrClosed):
		return model.ErrClosed
	}
	return fmt.Errorf("%w: %w", model.ErrUnavailable, err)
}

// walWriteError wraps the error of a failed WAL write for Commit.
func walWriteError(err error) error {
	if errors.Is(err, wal.ErrUnavailable) {
		return fmt.Errorf("write WAL: %w: %w", model.ErrUnavailable, err)
	}
	return fmt.Errorf("write WAL: %w", err)
}

// watchWAL waits for the WAL to fail and brings it back, until Close.
func (h *Head) watchWAL() {
	defer close(h.walDone)
	for {
		select {
		case <-h.closing:
			return
		case <-h.wal.Failed():
		}
		if !h.recoverWAL() {
			return
		}
	}
}

// recoverWAL retries wal.Recover with backoff until it succeeds, and then,
// if the recovery cut acknowledged records out of the WAL (they were
// written after the last good fsync of a failed one, so the disk may have
// lost them), writes a checkpoint: it snapshots memory, which holds those
// records, and so makes them durable again. It returns false when the head
// is closing.
func (h *Head) recoverWAL() bool {
	var cut int64 // acknowledged bytes cut and not yet checkpointed
	for delay := walRetryMin; ; delay = min(2*delay, walRetryMax) {
		rec, err := h.wal.Recover()
		if err == nil {
			cut += rec.AckedBytesCut
			if cut == 0 {
				return true
			}
			h.opts.Logger.Warn("WAL recovered after a failed fsync; checkpointing the records acknowledged since the last good fsync, which only memory holds now",
				"segment", rec.Segment, "acked_bytes_cut", cut)
			if err = h.Checkpoint(h.ctx); err == nil {
				h.opts.Logger.Info("records acknowledged before the failed fsync are durable again")
				return true
			}
		}
		if errors.Is(err, wal.ErrClosed) || errors.Is(err, model.ErrClosed) {
			return false
		}
		h.opts.Logger.Warn("WAL still cannot write; retrying", "retry_in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-h.closing:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}
