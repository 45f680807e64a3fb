package wal

import (
	"fmt"
	"path/filepath"
	"time"
)

// probeSize is how much the write probe of Recover writes: room for a
// typical batch, so that a disk with a few bytes free is not taken for one
// that has space again.
const probeSize = 64 << 10

// UnavailableError says why a WAL cannot write. Log, Cut and Sync return
// it from the first failed write or fsync until Recover succeeds; it
// matches ErrUnavailable.
type UnavailableError struct {
	Dir   string    // directory of the WAL
	Since time.Time // when the first failure happened
	Err   error     // the first failure, or the last failed Recover's cause
}

// Error implements error.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("wal %s unavailable since %s: %v", e.Dir, e.Since.UTC().Format(time.RFC3339), e.Err)
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Recovery describes what a successful Recover did.
type Recovery struct {
	// Down is how long the WAL was unavailable; zero if it was not.
	Down time.Duration
	// Segment is the segment that was being written when the WAL failed.
	// Recover cut it back to its last whole frame, or, after a failed
	// fsync, to what its last good fsync covered, and closed it.
	Segment int
	// AckedBytesCut counts the bytes of acknowledged records that the cut
	// removed: records written after the last good fsync of Segment when an
	// fsync failed. The kernel may have dropped them already, so they are
	// in no file any more; the caller's own copy is the only one, and a
	// checkpoint covering Segment makes them durable again. Always 0 when
	// no fsync failed, and under FsyncAlways (nothing unsynced was acked).
	AckedBytesCut int64
}

// Err returns nil while the WAL accepts records, ErrClosed after Close, and
// otherwise the *UnavailableError that Log returns.
func (w *WAL) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.usableLocked()
}

// Failed returns a channel that is closed when the WAL becomes unavailable
// (at once if it is). After a successful Recover, call Failed again to
// watch for the next failure.
func (w *WAL) Failed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// Recover tries to make an unavailable WAL write again, and returns nil at
// once if it is not unavailable. Nothing is retried by itself: the owner
// calls Recover, with a backoff, after Failed fires. In order:
//
//  1. the segment being written is cut back to its last whole frame (after
//     a failed fsync: to what its last good fsync covered), fsynced and
//     closed, so that no segment but the last ever ends in a torn frame;
//  2. a probe file of 64 KiB is written, fsynced and removed, to check that
//     the disk takes data again;
//  3. a new segment is created after every existing one.
//
// A step that fails leaves the WAL unavailable, with that cause, and the
// next Recover resumes from it; the error returned matches ErrUnavailable.
// After a failed fsync the caller must write a checkpoint covering
// Recovery.Segment if Recovery.AckedBytesCut is not 0. Safe for concurrent
// use.
func (w *WAL) Recover() (Recovery, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return Recovery{}, ErrClosed
	}
	if w.err == nil {
		return Recovery{}, nil
	}
	w.claimLocked()
	defer w.releaseLocked()
	if w.err == nil || w.closed { // recovered or closed while we waited
		return Recovery{}, w.usableLocked()
	}
	fail := w.err.(*UnavailableError)
	w.mu.Unlock()
	err := w.reopen()
	w.mu.Lock()
	if err != nil {
		w.err = &UnavailableError{Dir: w.dir, Since: fail.Since, Err: err}
		return Recovery{}, w.err
	}
	rec := Recovery{Down: w.opts.Now().Sub(fail.Since), Segment: w.lostSeg, AckedBytesCut: w.lostAcked}
	w.lostAcked = 0
	w.err = nil
	w.failed = make(chan struct{})
	w.recoveries.Add(1)
	w.log.Info("WAL writable again", "dir", w.dir, "down_seconds", rec.Down.Seconds(),
		"failed_segment", rec.Segment, "segment", w.segIdx, "acked_bytes_cut", rec.AckedBytesCut)
	return rec, nil
}

// failLocked makes the WAL unavailable after the I/O failure err, unless it
// is already. Batches not written when it happens report it.
func (w *WAL) failLocked(err error) {
	if w.err != nil {
		return
	}
	w.err = &UnavailableError{Dir: w.dir, Since: w.opts.Now(), Err: err}
	close(w.failed)
	w.failures.Add(1)
	w.log.Error("WAL write failed; refusing records until it recovers", "dir", w.dir, "err", err)
}

// reopen does the I/O of Recover. The caller holds the leader role and not
// w.mu.
func (w *WAL) reopen() error {
	w.segMu.Lock()
	defer w.segMu.Unlock()
	w.lostSeg = w.segIdx
	if w.seg != nil {
		if err := w.cutBackLocked(); err != nil {
			return err
		}
	}
	if err := w.probe(); err != nil {
		return err
	}
	segs, err := listSegments(w.dir)
	if err != nil {
		return err
	}
	next := w.segIdx + 1
	if len(segs) > 0 {
		next = max(next, segs[len(segs)-1]+1)
	}
	f, err := createSegment(w.opts.CreateFile, w.dir, next)
	if err != nil {
		return err
	}
	w.setSegmentLocked(f, next)
	return nil
}

// cutBackLocked truncates the failed segment to the bytes known good,
// fsyncs and closes it. The caller holds the leader role and w.segMu.
func (w *WAL) cutBackLocked() error {
	keep := w.segSize
	if w.syncFailed {
		keep = min(keep, w.segSynced)
	}
	if err := w.seg.Truncate(keep); err != nil {
		return fmt.Errorf("cut segment %d back to offset %d: %w", w.segIdx, keep, err)
	}
	if err := w.seg.Sync(); err != nil {
		w.syncFailed = true
		return fmt.Errorf("fsync segment %d cut back to offset %d: %w", w.segIdx, keep, err)
	}
	w.lostAcked += max(0, w.ackedEnd-keep)
	w.ackedEnd, w.segSize = min(w.ackedEnd, keep), keep
	err := w.seg.Close()
	w.seg = nil
	if err != nil {
		// The segment was fsynced; closing can only have failed to
		// release it.
		w.log.Warn("close WAL segment after cutting it back", "dir", w.dir, "segment", w.segIdx, "err", err)
	}
	return nil
}

// probe writes, fsyncs and removes a probe file of probeSize bytes.
func (w *WAL) probe() error {
	path := filepath.Join(w.dir, probeName)
	if err := removeIfExists(path); err != nil { // left by an earlier probe
		return fmt.Errorf("write probe: %w", err)
	}
	f, err := w.opts.CreateFile(path)
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := removeIfExists(path); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}
