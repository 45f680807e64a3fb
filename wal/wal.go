package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// WAL appends records to the segment files of one directory. Log, Cut,
// Sync, Recover, Err, Failed, Stats, Segments and Dir are safe for
// concurrent use.
//
// Writers follow a leader protocol (see log.go): every caller frames its
// records into the shared pending buffer under mu; whichever caller finds
// no flush in progress becomes the leader, takes the whole buffer, writes
// it with one write(2) and wakes everyone whose records it carried.
type WAL struct {
	dir  string
	opts Options
	log  *slog.Logger
	// frames holds *[]byte buffers in which Log compresses and frames a
	// call's records before taking mu, when Options.Compression is set.
	frames sync.Pool

	mu   sync.Mutex
	cond sync.Cond // on mu; signalled whenever the leader role is released
	// Guarded by mu.
	pending       []byte        // framed records waiting for the leader
	pendingRecs   int           // records in pending
	pendingBytes  int           // their length before framing and compression
	spare         []byte        // the previous batch's buffer, reused for the next one
	pendingSeq    uint64        // sequence number of the last Log call appended to pending
	flushedSeq    uint64        // every Log call up to this sequence is written or refused
	failedBatches []failedBatch // refused calls that have not read their error yet
	leading       bool          // a goroutine holds the leader role
	err           error         // nil, or the *UnavailableError: nothing is written until Recover
	failed        chan struct{} // closed when err is set; replaced by Recover
	closed        bool

	// Owned by the goroutine holding the leader role. seg is also replaced
	// only by the leader, under segMu, so the background syncer can read it
	// under segMu alone.
	segMu     sync.Mutex
	seg       File
	segIdx    int
	segSize   int64 // end of the whole frames written to seg
	ackedEnd  int64 // end of the records acknowledged in seg
	lostSeg   int   // the segment a failure left, for the next Recovery
	lostAcked int64 // acknowledged bytes cut back since the last Recovery
	// Guarded by segMu.
	segSynced  int64 // offset of seg covered by its last good fsync
	syncFailed bool  // an fsync of seg failed: what is past segSynced is in doubt

	segEnd atomic.Int64 // segSize, for fsyncs running beside the leader

	written    atomic.Uint64 // bytes written to segments since Open
	synced     atomic.Uint64 // value of written covered by the last fsync
	records    atomic.Uint64
	recBytes   atomic.Uint64 // length of the records written, before compression
	fsyncs     atomic.Uint64
	cuts       atomic.Uint64
	failures   atomic.Uint64
	recoveries atomic.Uint64
	current    atomic.Int64 // index of the segment being written

	stop chan struct{} // closed by Close to stop the background syncer
	done chan struct{} // closed when the background syncer has returned
}

// Stats are cumulative counters since Open.
type Stats struct {
	Records      uint64 // records written
	RecordBytes  uint64 // their length before framing and compression
	BytesWritten uint64 // bytes written to segment files, frames included
	Fsyncs       uint64 // fsyncs of segment files
	SegmentsCut  uint64 // segments closed and replaced by a new one
	Failures     uint64 // times the WAL became unavailable
	Recoveries   uint64 // successful Recover calls that ended a failure
	Segment      int    // index of the segment being written
}

// Open opens the WAL in dir, creating dir if needed, and prepares it for
// appending:
//
//   - leftover checkpoint.*.tmp directories of an interrupted Checkpoint are
//     removed, as are checkpoints older than the newest and segments it
//     covers (left behind by a crash before Checkpoint's cleanup), and the
//     temporary files of an interrupted repair or write probe;
//   - the segments must run without a gap from the one after the newest
//     checkpoint (segment 0 without one), or Open fails with an error
//     matching ErrMissingSegment;
//   - the last segment is repaired: a torn or corrupt tail is cut at the end
//     of the last good record, and damage followed by intact records is
//     cut out of the segment, the records after it kept; a warning gives
//     the segment, the offsets and the number of bytes dropped;
//   - appending starts in a new segment after both the last segment and the
//     newest checkpoint, so existing segments are never written again.
//
// Corruption in earlier segments is not repaired unless opts.Repair is set
// (which also accepts gaps); without it a Reader reports it.
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
	if err := cleanTemp(dir, opts.Logger); err != nil {
		return nil, err
	}
	segs, err := checkSegments(dir, upTo, opts)
	if err != nil {
		return nil, err
	}
	next := upTo + 1
	if len(segs) > 0 {
		next = max(next, segs[len(segs)-1]+1)
	}
	f, err := createSegment(opts.CreateFile, dir, next)
	if err != nil {
		return nil, err
	}
	w := &WAL{dir: dir, opts: opts, log: opts.Logger, seg: f, segIdx: next, failed: make(chan struct{})}
	w.cond.L = &w.mu
	w.current.Store(int64(next))
	if opts.Fsync == FsyncInterval {
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.syncLoop()
	}
	return w, nil
}

// checkSegments checks and repairs the segments of dir that follow the
// newest checkpoint, which covers segments up to upTo (-1 for none), as
// Open describes, and returns them.
func checkSegments(dir string, upTo int, opts Options) ([]int, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	if !opts.Repair {
		if err := checkGaps(dir, upTo, segs); err != nil {
			return nil, err
		}
		if len(segs) > 0 {
			return segs, repairSegment(dir, segs[len(segs)-1], opts.Logger)
		}
		return segs, nil
	}
	if upTo >= 0 {
		if err := repairDir(filepath.Join(dir, checkpointName(upTo)), 0, opts.Logger); err != nil {
			return nil, err
		}
	}
	if segs, err = fillGaps(dir, upTo+1, segs, opts.Logger); err != nil {
		return nil, err
	}
	for _, s := range segs {
		if err := repairSegment(dir, s, opts.Logger); err != nil {
			return nil, err
		}
	}
	return segs, nil
}

// repairDir repairs every segment of a checkpoint directory, from its
// segment from on.
func repairDir(dir string, from int, logger *slog.Logger) error {
	if err := cleanTemp(dir, logger); err != nil {
		return err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	if segs, err = fillGaps(dir, from, segs, logger); err != nil {
		return err
	}
	for _, s := range segs {
		if err := repairSegment(dir, s, logger); err != nil {
			return fmt.Errorf("checkpoint %s: %w", dir, err)
		}
	}
	return nil
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

// Codecs returns Options.Compression, if set, followed by Options.Codecs:
// every codec the directory's records were written with, as NewReader and
// NewCheckpointReader want them.
func (w *WAL) Codecs() []Codec {
	var out []Codec
	if w.opts.Compression != nil {
		out = append(out, w.opts.Compression)
	}
	for _, c := range w.opts.Codecs {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// Stats returns the counters.
func (w *WAL) Stats() Stats {
	return Stats{
		Records:      w.records.Load(),
		RecordBytes:  w.recBytes.Load(),
		BytesWritten: w.written.Load(),
		Fsyncs:       w.fsyncs.Load(),
		SegmentsCut:  w.cuts.Load(),
		Failures:     w.failures.Load(),
		Recoveries:   w.recoveries.Load(),
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
