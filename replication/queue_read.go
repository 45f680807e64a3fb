package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla-remote/gorilla-remote/wal"
)

// Read returns the next window of requests: at least one and at most
// maxN, their bodies at most maxBytes together (one request at least,
// whatever its size). It blocks until a request is queued or ctx is done
// (then it returns ctx's error). Requests older than MaxLag are dropped
// and counted instead of returned. The window stays in the queue until
// Ack; the next Read starts after it.
func (q *Queue) Read(ctx context.Context, maxN int, maxBytes int64) ([]Request, error) {
	for {
		out, err := q.next(maxN, maxBytes)
		if err != nil || len(out) > 0 {
			return out, err
		}
		if err := q.wait(ctx, q.pending()); err != nil {
			return nil, err
		}
	}
}

// next returns what is available now, maybe nothing.
func (q *Queue) next(maxN int, maxBytes int64) ([]Request, error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, fmt.Errorf("replication queue %s: %w", q.dir, wal.ErrClosed)
	}
	if q.readSeq >= q.nextSeq {
		// Everything appended so far was read: what comes next is kept
		// in memory again.
		q.spilled = false
		q.mu.Unlock()
		return nil, nil
	}
	if !q.spilled {
		out := q.takeTail(maxN, maxBytes)
		q.mu.Unlock()
		return q.dropOld(out), nil
	}
	from, seg := q.readSeq, q.segFrom(q.readSeq)
	q.mu.Unlock()

	out, err := q.readDisk(from, seg, maxN, maxBytes)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	if len(out) > 0 && out[len(out)-1].Seq >= q.readSeq {
		q.readSeq = out[len(out)-1].Seq + 1
	}
	if q.readSeq >= q.nextSeq {
		q.spilled = false // as above
	}
	if len(out) > 0 {
		q.oldest = out[0].Enqueued
	}
	q.mu.Unlock()
	return q.dropOld(out), nil
}

// pending reports whether requests are queued that Read has not handed
// out, though it just found none to read (a reader that must look again).
func (q *Queue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.readSeq < q.nextSeq
}

// takeTail hands out requests from the in-memory tail.
func (q *Queue) takeTail(maxN int, maxBytes int64) []Request {
	n, size := 0, int64(0)
	for n < len(q.tail) && n < maxN && (n == 0 || size+int64(len(q.tail[n].Body)) <= maxBytes) {
		size += int64(len(q.tail[n].Body))
		n++
	}
	out := append([]Request(nil), q.tail[:n]...)
	clear(q.tail[:n])
	q.tail = q.tail[n:]
	for _, r := range out {
		q.tailSize -= r.size()
	}
	if len(q.tail) == 0 {
		q.tail = nil // lets the backing array go
	}
	q.readSeq += uint64(n)
	return out
}

// readDisk reads requests from seq on from the WAL, starting in segment
// seg, reusing the open reader when it is positioned there. A reader at
// the end of what it saw is closed, so the next call sees what was
// appended since.
func (q *Queue) readDisk(seq uint64, seg, maxN int, maxBytes int64) ([]Request, error) {
	if q.rd == nil {
		rd, err := wal.NewReader(q.dir, seg, -1)
		if err != nil {
			return nil, fmt.Errorf("replication queue %s: read: %w", q.dir, err)
		}
		q.rd = rd
	}
	var out []Request
	size := int64(0)
	for len(out) < maxN && (len(out) == 0 || size < maxBytes) && q.rd.Next() {
		req, err := decodeRecord(q.rd.Record())
		if err != nil {
			q.log.Warn("replication queue: skipping a damaged record", "dir", q.dir, "segment", q.rd.Segment(), "offset", q.rd.Offset(), "err", err)
			continue
		}
		if req.Seq < seq {
			continue
		}
		size += int64(len(req.Body))
		out = append(out, req)
	}
	if len(out) == 0 || len(out) < maxN && size < maxBytes {
		err := q.rd.Err()
		q.closeReader()
		var ce *wal.CorruptionError
		if errors.As(err, &ce) {
			q.corrupt(seq, ce)
		} else if err != nil {
			return nil, fmt.Errorf("replication queue %s: read: %w", q.dir, err)
		}
	}
	return out, nil
}

func (q *Queue) closeReader() {
	if q.rd != nil {
		_ = q.rd.Close() // a read-only file: nothing to lose
		q.rd = nil
	}
}

// corrupt handles a record the reader could not read back, at or after
// seq. A reader that opened the segment being written while a record was
// being written sees a torn record at its end that is whole by now, so
// the first time a place reads as damaged it is only read again. When
// the same place reads as damaged again, in a segment no longer written,
// the rest of that segment is lost: it is dropped and counted, and the
// next segments still count.
func (q *Queue) corrupt(seq uint64, ce *wal.CorruptionError) {
	at := [2]int64{int64(ce.Segment), ce.Offset}
	if q.damaged != at {
		q.damaged = at
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	i := q.segOf(seq)
	if i < 0 || i == len(q.segs)-1 || q.segs[i].idx != ce.Segment || q.ackSeq != seq {
		return
	}
	s := q.segs[i]
	q.log.Warn("replication queue: damaged segment, dropping its rest", "dir", q.dir, "segment", ce.Segment,
		"requests", s.last+1-seq, "err", ce)
	q.drop(s.last+1, int64(s.last+1-seq), 0)
}

// dropOld drops the requests at the front of the window older than
// MaxLag, which Read handed out and no one sent: they are acknowledged
// as dropped.
func (q *Queue) dropOld(out []Request) []Request {
	if q.opts.MaxLag <= 0 || len(out) == 0 {
		return out
	}
	cutoff := q.opts.Now().Add(-q.opts.MaxLag)
	n := 0
	for n < len(out) && out[n].Enqueued.Before(cutoff) {
		n++
	}
	if n == 0 {
		return out
	}
	q.dropFront(out[:n])
	return out[n:]
}

// dropFront acknowledges reqs, the front of the next window, as dropped.
func (q *Queue) dropFront(reqs []Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var samples int64
	for _, r := range reqs {
		if r.Seq >= q.ackSeq {
			samples += int64(r.Samples)
		}
	}
	n := q.ackLocked(reqs)
	q.stats.DroppedRequests += n
	q.stats.DroppedSamples += samples
}

// positionEvery is how often Ack persists the position at most (and
// before deleting segments, and at Close): a crash sends again what was
// acknowledged since, which the peer takes as a no-op, and a sender that
// keeps up does not pay a file rename per request.
const positionEvery = time.Second

// Ack acknowledges reqs, the window Read returned last (or what is left
// of it), whatever became of them: the position moves past them, is
// persisted (see positionEvery), and segments wholly acknowledged are
// deleted.
func (q *Queue) Ack(reqs []Request) error {
	if len(reqs) == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ackLocked(reqs)
	if now := q.opts.Now(); now.Sub(q.posWritten) >= positionEvery {
		if err := q.savePosition(); err != nil {
			return err
		}
	}
	return q.deleteSent()
}

// ackLocked moves the position past reqs, skipping those a drop already
// passed, and returns how many it acknowledged.
func (q *Queue) ackLocked(reqs []Request) int64 {
	var n int64
	for i := range reqs {
		r := &reqs[i]
		if r.Seq < q.ackSeq {
			continue
		}
		if j := q.segOf(r.Seq); j >= 0 {
			s := &q.segs[j]
			s.ackedRecs++
			s.ackedBytes += r.size()
			s.ackedSmp += int64(r.Samples)
		}
		q.ackSeq = r.Seq + 1
		n++
	}
	q.oldest = q.headTime(reqs[len(reqs)-1].Enqueued)
	return n
}
