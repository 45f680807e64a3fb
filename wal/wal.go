package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// WAL appends records to the segment files of one directory. Log, Cut,
// Sync, Stats, Segments and Dir are safe for concurrent use.
//
// Writers follow a leader protocol (see log.go): every caller frames its
// records into the shared pending buffer under mu; whichever caller finds
// no flush in progress becomes the leader, takes the whole buffer, writes
// it with one write(2) and wakes everyone whose records it carried.
type WAL struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	cond sync.Cond // on mu; signalled whenever the leader role is released
	// Guarded by mu.
	pending     []byte // framed records waiting for the leader
	pendingRecs int    // records in pending
	spare       []byte // the previous batch's buffer, reused for the next one
	pendingSeq  uint64 // sequence number of the last Log call appended to pending
	flushedSeq  uint64 // every Log call up to this sequence has been written
	leading     bool   // a goroutine holds the leader role
	err         error  // sticky: the first I/O failure; the WAL accepts nothing after it
	errSeq      uint64 // Log calls from this sequence on were not (fully) written
	closed      bool

	// Owned by the goroutine holding the leader role. seg is also replaced
	// only by the leader, under segMu, so the background syncer can read it
	// under segMu alone.
	segMu   sync.Mutex
	seg     *os.File
	segIdx  int
	segSize int64

	written atomic.Uint64 // bytes written to segments since Open
	synced  atomic.Uint64 // value of written covered by the last fsync
	records atomic.Uint64
	fsyncs  atomic.Uint64
	cuts    atomic.Uint64
	current atomic.Int64 // index of the segment being written

	stop chan struct{} // closed by Close to stop the background syncer
	done chan struct{} // closed when the background syncer has returned
}

// Stats are cumulative counters since Open.
type Stats struct {
	Records      uint64 // records written
	BytesWritten uint64 // bytes written to segment files, frames included
	Fsyncs       uint64 // fsyncs of segment files
	SegmentsCut  uint64 // segments closed and replaced by a new one
	Segment      int    // index of the segment being written
}

// Open opens the WAL in dir, creating dir if needed, and prepares it for
// appending:
//
//   - leftover checkpoint.*.tmp directories of an interrupted Checkpoint are
//     removed, as are checkpoints older than the newest and segments it
//     covers (left behind by a crash before Checkpoint's cleanup);
//   - the last segment is repaired: a torn or corrupt tail is cut at the end
//     of the last good record, and a warning gives the segment, the offset
//     and the number of bytes dropped;
//   - appending starts in a new segment after both the last segment and the
//     newest checkpoint, so existing segments are never written again.
//
// Corruption in earlier segments is not repaired; a Reader reports it.
func Open(dir string, opts Options) (*WAL, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("create WAL dir: %w", err)
	}
	upTo, err := cleanCheckpoints(dir, opts.Logger)
	if err != nil {
		return nil, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	next := upTo + 1
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		if err := repairTail(dir, last, opts.Logger); err != nil {
			return nil, err
		}
		next = max(next, last+1)
	}
	f, err := createSegment(dir, next)
	if err != nil {
		return nil, err
	}
	w := &WAL{dir: dir, opts: opts, log: opts.Logger, seg: f, segIdx: next}
	w.cond.L = &w.mu
	w.current.Store(int64(next))
	if opts.Fsync == FsyncInterval {
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.syncLoop()
	}
	return w, nil
}

// Dir returns the directory the WAL was opened in.
func (w *WAL) Dir() string { return w.dir }

// Segments returns the lowest and highest index of the segment files in the
// directory, or -1, -1 if there are none.
func (w *WAL) Segments() (first, last int, err error) {
	segs, err := listSegments(w.dir)
	if err != nil {
		return -1, -1, err
	}
	if len(segs) == 0 {
		return -1, -1, nil
	}
	return segs[0], segs[len(segs)-1], nil
}

// Stats returns the counters.
func (w *WAL) Stats() Stats {
	return Stats{
		Records:      w.records.Load(),
		BytesWritten: w.written.Load(),
		Fsyncs:       w.fsyncs.Load(),
		SegmentsCut:  w.cuts.Load(),
		Segment:      int(w.current.Load()),
	}
}

// Close writes what is pending, fsyncs and closes the current segment and
// stops the background syncer. Log calls still waiting are completed first;
// later calls return ErrClosed. Close is idempotent: calls after the first
// return nil.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()

	if w.stop != nil {
		close(w.stop)
		<-w.done
	}

	w.mu.Lock()
	w.claimLocked()
	w.flushLocked(false)
	ferr := w.err
	w.releaseLocked()
	w.mu.Unlock()

	w.segMu.Lock()
	defer w.segMu.Unlock()
	if w.seg == nil { // a failed cut left no segment open
		return fmt.Errorf("close WAL: %w", ferr)
	}
	var err error
	if ferr == nil {
		err = w.syncLocked()
	}
	if cerr := w.seg.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close segment %d: %w", w.segIdx, cerr))
	}
	w.seg = nil
	if ferr != nil {
		return fmt.Errorf("close WAL: %w", ferr)
	}
	return err
}
