package wal

import (
	"fmt"
	"time"
)

// maxSpare is the largest batch buffer kept for reuse. A rare burst may grow
// the buffer far beyond the usual batch; holding on to it forever would pin
// that memory for nothing.
const maxSpare = 16 << 20

// Log appends recs, in order and with no other caller's records between
// them, and returns once they have been written to the segment file (and
// fsynced under FsyncAlways). A batch may continue in the next segment when
// the current one is full, but a record never spans segments.
//
// Every record must be non-empty and at most SegmentSize-8 bytes long,
// otherwise Log returns ErrEmptyRecord or ErrRecordTooLarge and writes none
// of them. Log does not retain recs.
//
// Concurrent calls are batched into one write (and one fsync): the first
// caller to find no write in progress writes everything pending. After an
// I/O error the WAL is failed and every later call returns that error.
func (w *WAL) Log(recs ...[]byte) error {
	for _, r := range recs {
		if err := checkRecord(r, w.opts.SegmentSize); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	// Framing under the lock is what makes a caller's records contiguous.
	// The CRC runs in hardware at many GB/s, so holding mu for it costs less
	// than a second pass over the data would.
	for _, r := range recs {
		w.pending = appendRecord(w.pending, r)
	}
	w.pendingRecs += len(recs)
	w.pendingSeq++
	seq := w.pendingSeq
	for w.flushedSeq < seq {
		if w.leading {
			w.cond.Wait()
			continue
		}
		w.leading = true
		w.flushLocked(w.opts.Fsync == FsyncAlways)
		w.releaseLocked()
	}
	if w.err != nil && seq >= w.errSeq {
		return w.err
	}
	return nil
}

// Cut fsyncs and closes the current segment after writing what is pending,
// starts a new one and returns the new segment's index. Records logged
// before Cut is called are in earlier segments. Safe concurrently with Log.
func (w *WAL) Cut() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return 0, err
	}
	w.claimLocked()
	defer w.releaseLocked()
	w.flushLocked(false)
	if w.err != nil {
		return 0, w.err
	}
	w.mu.Unlock()
	err := w.cut()
	w.mu.Lock()
	if err != nil {
		w.failLocked(err)
		return 0, w.err
	}
	return int(w.current.Load()), nil
}

// Sync writes what is pending and fsyncs the current segment.
func (w *WAL) Sync() error {
	w.mu.Lock()
	if err := w.usableLocked(); err != nil {
		w.mu.Unlock()
		return err
	}
	w.claimLocked()
	w.flushLocked(false)
	err := w.err
	w.releaseLocked()
	w.mu.Unlock()
	if err != nil {
		return err
	}
	// The fsync runs without the leader role so that Log calls are not held
	// up by it; what was flushed above is in this segment or in one that
	// a cut has fsynced already.
	w.segMu.Lock()
	defer w.segMu.Unlock()
	return w.syncLocked()
}

// usableLocked returns why the WAL cannot take work, if it cannot.
func (w *WAL) usableLocked() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// claimLocked waits for the leader role and takes it. w.mu must be held.
func (w *WAL) claimLocked() {
	for w.leading {
		w.cond.Wait()
	}
	w.leading = true
}

// releaseLocked gives up the leader role and wakes the waiters, whose
// records may have been written. w.mu must be held.
func (w *WAL) releaseLocked() {
	w.leading = false
	w.cond.Broadcast()
}

// failLocked records the first I/O failure. Log calls that were not fully
// flushed when it happened will report it.
func (w *WAL) failLocked(err error) {
	if w.err != nil {
		return
	}
	w.err = fmt.Errorf("wal %s failed: %w", w.dir, err)
	w.errSeq = w.flushedSeq + 1
	w.log.Error("WAL write failed; refusing further records", "dir", w.dir, "err", err)
}

// flushLocked writes the pending buffer, and fsyncs if sync is set. The
// caller holds w.mu and the leader role; w.mu is released during the I/O so
// that other callers can fill the next batch meanwhile.
func (w *WAL) flushLocked(sync bool) {
	if len(w.pending) == 0 || w.err != nil {
		w.flushedSeq = w.pendingSeq
		w.pending, w.pendingRecs = w.pending[:0], 0
		return
	}
	buf, recs, seq := w.pending, w.pendingRecs, w.pendingSeq
	w.pending, w.spare, w.pendingRecs = w.spare[:0], nil, 0
	w.mu.Unlock()

	err := w.write(buf)
	if err == nil && sync {
		w.segMu.Lock()
		err = w.syncLocked()
		w.segMu.Unlock()
	}
	if err == nil {
		w.records.Add(uint64(recs))
	}

	w.mu.Lock()
	if cap(buf) <= maxSpare {
		w.spare = buf[:0]
	}
	if err != nil {
		w.failLocked(err)
	}
	w.flushedSeq = seq
}

// write appends buf, whole framed records, to the segments, cutting a new
// segment whenever the next record would not fit. The caller holds the
// leader role.
func (w *WAL) write(buf []byte) error {
	for len(buf) > 0 {
		n := fitRecords(buf, w.opts.SegmentSize-w.segSize)
		if n == 0 {
			if w.segSize == 0 {
				panic("BUG: wal: record larger than an empty segment passed the size check")
			}
			if err := w.cut(); err != nil {
				return err
			}
			continue
		}
		m, err := w.seg.Write(buf[:n])
		w.segSize += int64(m)
		w.written.Add(uint64(m))
		if err != nil {
			return fmt.Errorf("write segment %d at offset %d: %w", w.segIdx, w.segSize, err)
		}
		buf = buf[n:]
	}
	return nil
}

// cut fsyncs and closes the current segment and creates the next. The
// caller holds the leader role, and not w.mu.
func (w *WAL) cut() error {
	w.segMu.Lock()
	defer w.segMu.Unlock()
	if err := w.syncLocked(); err != nil {
		return err
	}
	err := w.seg.Close()
	// From here on there is no open segment until the next one exists;
	// Close and the syncer treat nil as nothing to do.
	w.seg = nil
	if err != nil {
		return fmt.Errorf("close segment %d: %w", w.segIdx, err)
	}
	f, err := createSegment(w.dir, w.segIdx+1)
	if err != nil {
		return err
	}
	w.seg, w.segIdx, w.segSize = f, w.segIdx+1, 0
	w.current.Store(int64(w.segIdx))
	w.cuts.Add(1)
	return nil
}

// syncLocked fsyncs the current segment. w.segMu must be held.
func (w *WAL) syncLocked() error {
	if w.seg == nil {
		return fmt.Errorf("fsync: no open segment after segment %d", w.segIdx)
	}
	target := w.written.Load()
	start := w.opts.Now()
	if err := w.seg.Sync(); err != nil {
		return fmt.Errorf("fsync segment %d: %w", w.segIdx, err)
	}
	d := w.opts.Now().Sub(start)
	// Counters first, so an observer that reads Stats sees this fsync.
	w.fsyncs.Add(1)
	w.synced.Store(target)
	if obs := w.opts.ObserveFsync; obs != nil {
		obs(d)
	}
	return nil
}

// syncLoop fsyncs the current segment every FsyncInterval if anything was
// written since the last fsync. It runs only under FsyncInterval, so Log
// never waits for a timer or for a disk flush.
func (w *WAL) syncLoop() {
	defer close(w.done)
	t := time.NewTicker(w.opts.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		if w.written.Load() == w.synced.Load() {
			continue
		}
		w.segMu.Lock()
		err := w.syncLocked()
		w.segMu.Unlock()
		if err != nil {
			// The next write or Close reports the failure to callers; a
			// failed fsync may have dropped dirty pages, so stop trusting
			// the file.
			w.mu.Lock()
			w.failLocked(err)
			w.mu.Unlock()
		}
	}
}
