package wal

import (
	"fmt"
)

// maxSpare is the largest batch buffer kept for reuse. A rare burst may grow
// the buffer far beyond the usual batch; holding on to it forever would pin
// that memory for nothing.
const maxSpare = 16 << 20

// failedBatch is a run of Log calls, by sequence number, whose records a
// failure kept from being written. It is kept until each of those calls
// has read its error, whatever happened to the WAL since.
type failedBatch struct {
	from, to uint64 // sequence numbers of the calls, inclusive
	left     uint64 // calls that have not read err yet
	err      error
}

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
// I/O error the WAL is unavailable: the calls whose records were not
// written, and every later call until Recover succeeds, return an
// *UnavailableError (matching ErrUnavailable). Records of a failed call may
// still be found on replay, as a sender's retry may be; records of a call
// that returned nil always are.
func (w *WAL) Log(recs ...[]byte) error {
	for _, r := range recs {
		if err := checkRecord(r, w.opts.SegmentSize); err != nil {
			return err
		}
	}
	var framed *[]byte
	if w.opts.Compression != nil && len(recs) > 0 {
		// Compressing takes far longer than copying: do it before taking
		// mu, so that concurrent callers compress in parallel.
		framed = w.compress(recs)
		defer w.releaseFrames(framed)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil || len(recs) == 0 {
		return err
	}
	// Framing under the lock is what makes a caller's records contiguous.
	// The CRC runs in hardware at many GB/s, so holding mu for it costs less
	// than a second pass over the data would.
	if framed != nil {
		w.pending = append(w.pending, *framed...)
	} else {
		for _, r := range recs {
			w.pending = appendRecord(w.pending, r)
		}
	}
	w.pendingRecs += len(recs)
	for _, r := range recs {
		w.pendingBytes += len(r)
	}
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
	return w.resultLocked(seq)
}

// compress frames recs, each compressed by Options.Compression when that
// makes it shorter, into a buffer of w.frames.
func (w *WAL) compress(recs [][]byte) *[]byte {
	bufs, _ := w.frames.Get().(*[]byte)
	if bufs == nil {
		bufs = new([]byte)
	}
	scratch, _ := w.frames.Get().(*[]byte)
	if scratch == nil {
		scratch = new([]byte)
	}
	out := (*bufs)[:0]
	for _, r := range recs {
		out, *scratch = appendCompressed(out, r, w.opts.Compression, *scratch)
	}
	*bufs = out
	w.releaseFrames(scratch)
	return bufs
}

// releaseFrames returns a buffer of compress to w.frames, unless a rare
// burst made it too large to keep.
func (w *WAL) releaseFrames(b *[]byte) {
	if cap(*b) <= maxSpare {
		*b = (*b)[:0]
		w.frames.Put(b)
	}
}

// resultLocked returns the error of the written-or-refused Log call seq,
// and forgets a failed batch once all its calls have read it.
func (w *WAL) resultLocked(seq uint64) error {
	for i := range w.failedBatches {
		fb := &w.failedBatches[i]
		if seq < fb.from || seq > fb.to {
			continue
		}
		err := fb.err
		if fb.left--; fb.left == 0 {
			w.failedBatches = append(w.failedBatches[:i], w.failedBatches[i+1:]...)
		}
		return err
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

// Sync writes what is pending and fsyncs the current segment. A failed
// fsync makes the WAL unavailable, as a failed write does.
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
	err = w.syncLocked()
	w.segMu.Unlock()
	if err != nil {
		w.mu.Lock()
		w.failLocked(err)
		err = w.err
		w.mu.Unlock()
	}
	return err
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

// flushLocked writes the pending buffer, and fsyncs if sync is set. The
// caller holds w.mu and the leader role; w.mu is released during the I/O so
// that other callers can fill the next batch meanwhile.
func (w *WAL) flushLocked(sync bool) {
	if len(w.pending) == 0 {
		return
	}
	buf, recs, recBytes, from, to := w.pending, w.pendingRecs, w.pendingBytes, w.flushedSeq+1, w.pendingSeq
	w.pending, w.spare, w.pendingRecs, w.pendingBytes = w.spare[:0], nil, 0, 0
	if w.err != nil {
		// Framed before the WAL failed; nothing is written now.
		w.refuseLocked(from, to)
		w.spare = buf[:0]
		return
	}
	w.mu.Unlock()

	err := w.write(buf)
	if err == nil && sync {
		w.segMu.Lock()
		err = w.syncLocked()
		w.segMu.Unlock()
	}

	w.mu.Lock()
	if err != nil {
		w.failLocked(err)
	}
	if w.err != nil {
		// Failed here, or the background fsync failed meanwhile: the bytes
		// past its last good fsync will be cut by Recover, so this batch
		// is not acknowledged.
		w.refuseLocked(from, to)
	} else {
		w.records.Add(uint64(recs))
		w.recBytes.Add(uint64(recBytes))
		w.ackedEnd = w.segSize
		w.flushedSeq = to
	}
	if cap(buf) <= maxSpare {
		w.spare = buf[:0]
	}
}

// refuseLocked marks the Log calls from..to as done with the WAL's error.
func (w *WAL) refuseLocked(from, to uint64) {
	w.failedBatches = append(w.failedBatches, failedBatch{from: from, to: to, left: to - from + 1, err: w.err})
	w.flushedSeq = to
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
		w.written.Add(uint64(m))
		if err != nil {
			// segSize stays at the last whole frame: Recover cuts the torn
			// bytes after it.
			return fmt.Errorf("write segment %d at offset %d: %w", w.segIdx, w.segSize, err)
		}
		w.segSize += int64(n)
		w.segEnd.Store(w.segSize)
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
	f, err := createSegment(w.opts.CreateFile, w.dir, w.segIdx+1)
	if err != nil {
		return err
	}
	w.setSegmentLocked(f, w.segIdx+1)
	w.cuts.Add(1)
	return nil
}

// setSegmentLocked makes f, new and empty, segment i and the one written.
// The caller holds the leader role and w.segMu.
func (w *WAL) setSegmentLocked(f File, i int) {
	w.seg, w.segIdx, w.segSize, w.ackedEnd = f, i, 0, 0
	w.segSynced, w.syncFailed = 0, false
	w.segEnd.Store(0)
	w.current.Store(int64(i))
}

// syncLocked fsyncs the current segment. w.segMu must be held.
func (w *WAL) syncLocked() error {
	if w.seg == nil {
		return fmt.Errorf("fsync: no open segment after segment %d", w.segIdx)
	}
	target, end := w.written.Load(), w.segEnd.Load()
	start := w.opts.Now()
	if err := w.seg.Sync(); err != nil {
		// The kernel may have dropped the pages it failed to write and
		// will not report it again: nothing past the last good fsync can
		// be trusted to be on disk.
		w.syncFailed = true
		return fmt.Errorf("fsync segment %d: %w", w.segIdx, err)
	}
	d := w.opts.Now().Sub(start)
	// Counters first, so an observer that reads Stats sees this fsync.
	w.fsyncs.Add(1)
	w.synced.Store(target)
	if !w.syncFailed {
		w.segSynced = end
	}
	if obs := w.opts.ObserveFsync; obs != nil {
		obs(d)
	}
	return nil
}

// syncLoop fsyncs the current segment on every tick of the ticker
// Options.NewTicker makes (every FsyncInterval by default) if anything was
// written since the last fsync. It runs only under FsyncInterval, so Log
// never waits for a timer or for a disk flush.
func (w *WAL) syncLoop() {
	defer close(w.done)
	t := w.opts.NewTicker(w.opts.FsyncInterval)
	defer t.Stop()
	ticks := t.C()
	for {
		select {
		case <-w.stop:
			return
		case <-ticks:
		}
		if w.written.Load() == w.synced.Load() {
			continue
		}
		w.segMu.Lock()
		err := w.syncLocked()
		w.segMu.Unlock()
		if err != nil {
			// The next Log reports the failure to callers; Recover cuts
			// the segment back to its last good fsync.
			w.mu.Lock()
			w.failLocked(err)
			w.mu.Unlock()
		}
	}
}
