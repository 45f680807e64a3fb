package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// queueRecordV1 starts every record of an outbound queue. It is part of the
// on-disk format of <storage.path>/replication/<region>/: a queue written
// by a version that used another byte cannot be read back.
const queueRecordV1 = 1

// maxHeaderField bounds the content type, version and tenant of a queued
// request: real ones are a few dozen bytes, and a bound keeps a damaged
// record from claiming a huge string.
const maxHeaderField = 1 << 10

// errRecord reports a queue record that cannot be decoded.
var errRecord = errors.New("replication: malformed queue record")

// Request is one remote-write request as the queue keeps it: the body as
// the client sent it (snappy-compressed protobuf, not re-encoded) and the
// headers a peer needs to read it the same way.
type Request struct {
	// Seq numbers the request in its queue, from 0, in the order of
	// Append; set by Append.
	Seq uint64
	// Enqueued is when the request was appended (millisecond precision):
	// the lag and max_lag are measured from it.
	Enqueued time.Time
	// Samples is the number of samples (and histograms) the request
	// carries, for the counters; 0 when unknown.
	Samples int
	// ContentType, Version and Tenant are the request's Content-Type,
	// X-Prometheus-Remote-Write-Version and X-Scope-OrgID headers, empty
	// when absent.
	ContentType, Version, Tenant string
	// Body is the request body, snappy-compressed.
	Body []byte
}

// size is what the request costs in the queue's byte bound.
func (r *Request) size() int64 {
	return int64(len(r.Body) + len(r.ContentType) + len(r.Version) + len(r.Tenant) + 32)
}

// appendRecord appends the queue record of r to dst:
//
//	version byte (1) | seq uvarint | enqueued ms varint | samples uvarint |
//	content type, version, tenant: each uvarint length + bytes | body
func appendRecord(dst []byte, r *Request) []byte {
	dst = append(dst, queueRecordV1)
	dst = binary.AppendUvarint(dst, r.Seq)
	dst = binary.AppendVarint(dst, r.Enqueued.UnixMilli())
	dst = binary.AppendUvarint(dst, uint64(max(r.Samples, 0)))
	for _, s := range [...]string{r.ContentType, r.Version, r.Tenant} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return append(dst, r.Body...)
}

// decodeRecord decodes a record written by appendRecord. The body of the
// result is a copy, so rec may be reused.
func decodeRecord(rec []byte) (Request, error) {
	var r Request
	if len(rec) == 0 || rec[0] != queueRecordV1 {
		return r, fmt.Errorf("%w: %d bytes, want version byte %d first", errRecord, len(rec), queueRecordV1)
	}
	d := recordDecoder{buf: rec[1:]}
	r.Seq = d.uvarint("seq")
	r.Enqueued = time.UnixMilli(d.varint("enqueue time"))
	r.Samples = int(min(d.uvarint("samples"), 1<<31))
	r.ContentType = d.str("content type")
	r.Version = d.str("version")
	r.Tenant = d.str("tenant")
	if d.err != nil {
		return Request{}, d.err
	}
	r.Body = append([]byte(nil), d.buf...)
	return r, nil
}

// recordDecoder reads the fields of a record, keeping the first error.
type recordDecoder struct {
	buf []byte
	err error
}

func (d *recordDecoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad %s varint", errRecord, what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *recordDecoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad %s varint", errRecord, what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *recordDecoder) str(what string) string {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return ""
	}
	if n > maxHeaderField || n > uint64(len(d.buf)) {
		d.err = fmt.Errorf("%w: %s of %d bytes, %d left, at most %d", errRecord, what, n, len(d.buf), maxHeaderField)
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}
