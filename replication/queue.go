package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gorilla-remote/gorilla-remote/wal"
)

// Defaults of QueueOptions.
const (
	// DefaultQueueSegmentSize is the segment size of a queue's WAL: small
	// enough that dropping the oldest segment for max_queue_bytes drops
	// little, large enough for any remote-write body a sender sends.
	DefaultQueueSegmentSize = 32 << 20
	// DefaultQueueMemoryBytes is how much of the newest requests a queue
	// also keeps in memory, so a sender that keeps up never reads the disk.
	DefaultQueueMemoryBytes = 8 << 20
)

// positionFile holds the sequence number of the first request not yet
// acknowledged: 8 bytes little endian, then their CRC32C. Part of the
// on-disk format of a queue directory.
const positionFile = "position"

// QueueOptions configures a Queue. The zero value is usable: no bounds.
type QueueOptions struct {
	// MaxBytes bounds the requests kept (bodies and headers): beyond it
	// the oldest segment of unsent requests is dropped and counted. 0 is
	// no bound.
	MaxBytes int64
	// MaxLag bounds how long a request stays queued, measured from its
	// enqueue time (not from its samples' timestamps, which a client may
	// send late or early): Read drops older ones and counts them. 0 is no
	// bound.
	MaxLag time.Duration
	// MemoryBytes is how much of the newest unread requests is also kept
	// in memory; beyond it Read takes them from disk. 0 means
	// DefaultQueueMemoryBytes.
	MemoryBytes int64
	// SegmentSize is the WAL segment size; 0 means DefaultQueueSegmentSize.
	// A request larger than a segment cannot be queued.
	SegmentSize int64
	// Fsync is the WAL's fsync policy (wal.FsyncInterval survives a crash
	// of the process, wal.FsyncAlways a power loss too).
	Fsync wal.FsyncPolicy
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives repairs and damaged records; nil discards.
	Logger *slog.Logger
}

// QueueStats describe what a queue holds now and what it dropped since
// it was opened.
type QueueStats struct {
	BacklogRequests int64     // queued requests not yet acknowledged
	BacklogBytes    int64     // their size
	BacklogSamples  int64     // the samples they carry
	Oldest          time.Time // enqueue time of the oldest of them; zero when none
	DroppedRequests int64     // requests dropped for MaxBytes or MaxLag
	DroppedSamples  int64     // the samples they carried
	WrittenBytes    int64     // bytes of records written to the WAL, frames included
}

// segInfo is what a queue knows of one of its WAL segments.
type segInfo struct {
	idx         int
	first, last uint64 // seq of its first and last request; records == 0: none
	records     int64
	bytes       int64 // of all its requests
	samples     int64
	ackedBytes  int64 // of its requests below the acknowledged position
	ackedSmp    int64
	ackedRecs   int64
	firstTime   time.Time
	lastTime    time.Time
}

// Queue is a durable FIFO of remote-write requests on the wal package,
// one per remote region, with one consumer. Append is safe for concurrent
// use; Read and Ack must be called by one goroutine, in turn: Read a
// window, then Ack it, then Read the next.
//
// The directory holds the WAL segments (records: see appendRecord), an
// empty checkpoint directory marking the segments already deleted, and the
// position file. A crash loses nothing appended: the WAL repairs its torn
// tail at Open, and the position is at worst behind, which sends some
// requests again (a no-op for the peer).
type Queue struct {
	dir  string
	opts QueueOptions
	log  *slog.Logger
	w    *wal.WAL

	mu sync.Mutex
	// Guarded by mu.
	segs     []segInfo // oldest first; the last is being written
	nextSeq  uint64    // seq of the next Append
	ackSeq   uint64    // first request not acknowledged
	readSeq  uint64    // first request not yet handed out by Read
	tail     []Request // requests readSeq.. when not spilled
	tailSize int64
	spilled  bool // the unread requests are on disk only
	oldest   time.Time
	stats    QueueStats // the dropped counters
	buf      []byte
	closed   bool
	// posSaved is the position the file holds, posWritten when it was
	// written.
	posSaved   uint64
	posWritten time.Time

	notify chan struct{} // signalled after Append
	// Owned by the consumer: the disk reader, or nil, and the segment and
	// offset of the last damaged record it met.
	rd      *wal.Reader
	damaged [2]int64
}

// OpenQueue opens (creating it if needed) the queue in dir, repairing its
// WAL (a torn tail is cut, a damaged record dropped, each logged), and
// positions the reader at the first request not
// acknowledged before.
func OpenQueue(dir string, opts QueueOptions) (*Queue, error) {
	if opts.MemoryBytes == 0 {
		opts.MemoryBytes = DefaultQueueMemoryBytes
	}
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultQueueSegmentSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Repair: a queue is read whole at open anyway, and a damaged record
	// should cost that record, not the start.
	w, err := wal.Open(dir, wal.Options{SegmentSize: opts.SegmentSize, Fsync: opts.Fsync, Logger: opts.Logger, Repair: true})
	if err != nil {
		return nil, fmt.Errorf("open replication queue %s: %w", dir, err)
	}
	q := &Queue{dir: dir, opts: opts, log: opts.Logger, w: w, notify: make(chan struct{}, 1), damaged: [2]int64{-1, -1}}
	if err := q.load(); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	return q, nil
}

// load reads the position and scans the segments for what they hold.
func (q *Queue) load() error {
	q.ackSeq = readPosition(filepath.Join(q.dir, positionFile), q.log)
	_, upTo, err := wal.LastCheckpoint(q.dir)
	if errors.Is(err, wal.ErrNoCheckpoint) {
		upTo = -1
	} else if err != nil {
		return fmt.Errorf("replication queue %s: %w", q.dir, err)
	}
	r, err := wal.NewReader(q.dir, upTo+1, -1)
	if err != nil {
		return fmt.Errorf("replication queue %s: %w", q.dir, err)
	}
	defer r.Close()
	q.nextSeq = q.ackSeq
	first := true
	for r.Next() {
		req, err := decodeRecord(r.Record())
		if err != nil {
			q.log.Warn("replication queue: skipping a damaged record", "dir", q.dir, "segment", r.Segment(), "offset", r.Offset(), "err", err)
			continue
		}
		q.account(r.Segment(), &req)
		if req.Seq < q.ackSeq {
			s := &q.segs[len(q.segs)-1]
			s.ackedRecs++
			s.ackedBytes += req.size()
			s.ackedSmp += int64(req.Samples)
		}
		if first {
			// Records before the first present were sent and deleted;
			// a position saved before their deletion lags behind.
			first = false
			if req.Seq > q.ackSeq {
				q.ackSeq = req.Seq
			}
		}
		if req.Seq == q.ackSeq {
			q.oldest = req.Enqueued
		}
		q.nextSeq = max(q.nextSeq, req.Seq+1)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("replication queue %s: %w", q.dir, err)
	}
	q.account(q.w.Stats().Segment, nil)
	q.readSeq = q.ackSeq
	q.spilled = q.readSeq < q.nextSeq
	return q.deleteSent()
}

// account records req in segment idx (nil: only makes sure the segment
// is listed).
func (q *Queue) account(idx int, req *Request) {
	if n := len(q.segs); n == 0 || q.segs[n-1].idx != idx {
		q.segs = append(q.segs, segInfo{idx: idx})
	}
	if req == nil {
		return
	}
	s := &q.segs[len(q.segs)-1]
	if s.records == 0 {
		s.first, s.firstTime = req.Seq, req.Enqueued
	}
	s.last, s.lastTime = req.Seq, req.Enqueued
	s.records++
	s.bytes += req.size()
	s.samples += int64(req.Samples)
}

// Append queues r, durably: it returns once the WAL holds the request (as
// QueueOptions.Fsync says), and sets r.Seq and r.Enqueued. The queue keeps
// r.Body; the caller must not modify it afterwards. Beyond MaxBytes the
// oldest requests are dropped. An error means the request is not queued
// (the WAL cannot write: a full disk); the caller should refuse the write
// so that its sender retries.
func (q *Queue) Append(r Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("replication queue %s: %w", q.dir, wal.ErrClosed)
	}
	if errors.Is(q.w.Err(), wal.ErrUnavailable) {
		if _, err := q.w.Recover(); err != nil {
			return fmt.Errorf("replication queue %s: %w", q.dir, err)
		}
	}
	r.Seq = q.nextSeq
	r.Enqueued = time.UnixMilli(q.opts.Now().UnixMilli())
	q.buf = appendRecord(q.buf[:0], &r)
	if err := q.w.Log(q.buf); err != nil {
		return fmt.Errorf("replication queue %s: %w", q.dir, err)
	}
	q.stats.WrittenBytes += int64(len(q.buf)) + 8 // the WAL's length and CRC
	if cap(q.buf) > 1<<20 {
		q.buf = nil // one large request does not pin its buffer
	}
	q.nextSeq++
	q.account(q.w.Stats().Segment, &r)
	if q.ackSeq == r.Seq {
		q.oldest = r.Enqueued
	}
	if !q.spilled {
		q.tail = append(q.tail, r)
		q.tailSize += r.size()
		if q.tailSize > q.opts.MemoryBytes {
			q.dropTail()
			q.spilled = true
		}
	}
	q.enforceBytes()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

func (q *Queue) dropTail() {
	clear(q.tail)
	q.tail, q.tailSize = q.tail[:0], 0
}

// enforceBytes drops the oldest segments of unacknowledged requests while
// the backlog is over MaxBytes, cutting the segment being written when it
// is the oldest.
func (q *Queue) enforceBytes() {
	if q.opts.MaxBytes <= 0 {
		return
	}
	for q.backlogBytesLocked() > q.opts.MaxBytes {
		i := q.segOf(q.ackSeq)
		if i < 0 {
			return
		}
		if i == len(q.segs)-1 {
			next, err := q.w.Cut()
			if err != nil {
				q.log.Warn("replication queue: cannot cut a segment to drop it", "dir", q.dir, "err", err)
				return
			}
			q.account(next, nil)
		}
		s := q.segs[i]
		q.drop(s.last+1, s.records-s.ackedRecs, s.samples-s.ackedSmp)
		q.log.Warn("replication queue over its byte bound: dropped the oldest requests", "dir", q.dir,
			"requests", s.records-s.ackedRecs, "max_bytes", q.opts.MaxBytes)
	}
	if err := q.deleteSent(); err != nil {
		q.log.Warn("replication queue: deleting sent segments", "dir", q.dir, "err", err)
	}
}

// drop moves the acknowledged position to upTo, counting requests and
// samples as dropped.
func (q *Queue) drop(upTo uint64, requests, samples int64) {
	q.stats.DroppedRequests += requests
	q.stats.DroppedSamples += samples
	for i := range q.segs {
		if s := &q.segs[i]; s.records > 0 && s.last < upTo {
			s.ackedRecs, s.ackedBytes, s.ackedSmp = s.records, s.bytes, s.samples
		}
	}
	q.ackSeq = max(q.ackSeq, upTo)
	if q.readSeq < q.ackSeq {
		q.readSeq = q.ackSeq
		q.dropTail()
		q.spilled = q.readSeq < q.nextSeq
	}
	q.oldest = q.headTime(q.oldest)
}

// segOf returns the index in q.segs of the segment holding seq, or -1.
func (q *Queue) segOf(seq uint64) int {
	for i, s := range q.segs {
		if s.records > 0 && s.first <= seq && seq <= s.last {
			return i
		}
	}
	return -1
}

// headTime returns the enqueue time of the request at the acknowledged
// position, or a lower bound of it: the time of the first request of its
// segment, the in-memory tail's first, or else bound, the time of a
// request before it. Zero when nothing is queued.
func (q *Queue) headTime(bound time.Time) time.Time {
	if q.ackSeq >= q.nextSeq {
		return time.Time{}
	}
	if !q.spilled && len(q.tail) > 0 && q.tail[0].Seq == q.ackSeq {
		return q.tail[0].Enqueued
	}
	for _, s := range q.segs {
		if s.records > 0 && q.ackSeq <= s.last {
			if q.ackSeq <= s.first {
				return s.firstTime
			}
			break
		}
	}
	return bound
}

// segFrom returns the index of the first segment holding a request at
// or after seq, or of the oldest segment when none does.
func (q *Queue) segFrom(seq uint64) int {
	for _, s := range q.segs {
		if s.records > 0 && s.last >= seq {
			return s.idx
		}
	}
	return q.segs[0].idx
}

func (q *Queue) backlogBytesLocked() int64 {
	var n int64
	for _, s := range q.segs {
		n += s.bytes - s.ackedBytes
	}
	return n
}

// deleteSent deletes the segments before the one being written whose
// requests are all acknowledged, through an empty WAL checkpoint.
func (q *Queue) deleteSent() error {
	upTo := -1
	n := 0
	for _, s := range q.segs[:len(q.segs)-1] {
		if s.records > 0 && s.last >= q.ackSeq {
			break
		}
		upTo, n = s.idx, n+1
	}
	if upTo < 0 {
		return nil
	}
	// The position on disk must not point into what is deleted.
	if err := q.savePosition(); err != nil {
		return err
	}
	// nil logger: a line per deleted segment would be noise; failures are returned.
	if err := wal.Checkpoint(q.dir, upTo, func(func([]byte) error) error { return nil }, nil); err != nil {
		return fmt.Errorf("replication queue %s: delete sent segments: %w", q.dir, err)
	}
	q.segs = append(q.segs[:0], q.segs[n:]...)
	return nil
}

// Stats returns the backlog and the drop counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.stats
	st.BacklogRequests = int64(q.nextSeq - q.ackSeq)
	for _, s := range q.segs {
		st.BacklogBytes += s.bytes - s.ackedBytes
		st.BacklogSamples += s.samples - s.ackedSmp
	}
	if st.BacklogRequests > 0 {
		st.Oldest = q.oldest
	}
	return st
}

// Close writes the position and closes the WAL. Read and Ack must have
// returned.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	var errs []error
	if q.rd != nil {
		errs = append(errs, q.rd.Close())
	}
	errs = append(errs, q.savePosition(), q.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close replication queue %s: %w", q.dir, err)
	}
	return nil
}

// retryRead is how long Read waits before looking at the disk again when
// requests are queued that it could not read yet.
const retryRead = 10 * time.Millisecond

// wait blocks until Append signals or ctx is done, or for retryRead when
// again is set.
func (q *Queue) wait(ctx context.Context, again bool) error {
	var timer <-chan time.Time
	if again {
		t := time.NewTimer(retryRead)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-q.notify:
		return nil
	case <-timer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// savePosition persists the acknowledged position if it moved.
func (q *Queue) savePosition() error {
	if q.posSaved == q.ackSeq && !q.posWritten.IsZero() {
		return nil
	}
	if err := writePosition(q.dir, q.ackSeq); err != nil {
		return fmt.Errorf("replication queue %s: %w", q.dir, err)
	}
	q.posSaved, q.posWritten = q.ackSeq, q.opts.Now()
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readPosition reads the position file; a missing or damaged one reads as
// 0, which sends again what the queue still holds.
func readPosition(path string, log *slog.Logger) uint64 {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil || len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		log.Warn("replication queue: unreadable position, sending the whole queue again", "path", path, "err", err)
		return 0
	}
	return binary.LittleEndian.Uint64(b[:8])
}

// writePosition replaces the position file by one holding seq, through a
// rename so a crash leaves the old or the new one. It is not fsynced: a
// power loss may send again what was sent since the last fsync of the
// directory, which the peer ignores.
func writePosition(dir string, seq uint64) error {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], seq)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	tmp := filepath.Join(dir, positionFile+".tmp")
	if err := os.WriteFile(tmp, b[:], 0o666); err != nil {
		return fmt.Errorf("write queue position: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, positionFile)); err != nil {
		return fmt.Errorf("write queue position: %w", err)
	}
	return nil
}
