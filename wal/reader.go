package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// readBufferSize is the read-ahead of a Reader. Large enough that the many
// small records of a busy WAL cost one read(2) per few hundred of them.
const readBufferSize = 256 << 10

// Reader reads the records of a range of segments in order. It is not safe
// for concurrent use.
//
//	r, err := wal.NewReader(dir, first, -1)
//	...
//	for r.Next() {
//		apply(r.Record())
//	}
//	err = errors.Join(r.Err(), r.Close())
type Reader struct {
	dir  string
	segs []int // segments still to read, the current one first

	f    *os.File // current segment, nil between segments
	br   *bufio.Reader
	size int64 // size of the current segment when it was opened
	off  int64 // offset of the next frame in the current segment

	seg    int   // segment of the current record
	recOff int64 // offset of the current record's frame
	hdr    [headerSize]byte
	buf    []byte
	dec    []byte // the decompressed record, when the frame had a codec
	rec    []byte
	err    error

	codecs *codecTable
	raw    bool // frames are checked but not decoded: Record is their payload
}

// NewReader returns a Reader over segments from..to of dir, inclusive; to
// = -1 means up to the last segment present. Every segment in the range
// must exist. With to = -1 and no segment at or after from, the Reader is
// empty. codecs decode compressed frames (WAL.Codecs gives those of an
// open WAL); a frame of any other codec stops the Reader with an error
// matching ErrUnknownCodec.
func NewReader(dir string, from, to int, codecs ...Codec) (*Reader, error) {
	if from < 0 || (to >= 0 && to < from) || to < -1 {
		return nil, fmt.Errorf("wal: invalid segment range %d..%d", from, to)
	}
	table, err := newCodecTable(codecs)
	if err != nil {
		return nil, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	if to == -1 {
		if len(segs) == 0 || segs[len(segs)-1] < from {
			return &Reader{dir: dir, codecs: table}, nil
		}
		to = segs[len(segs)-1]
	}
	rng, err := contiguous(dir, segs, from, to)
	if err != nil {
		return nil, err
	}
	return &Reader{dir: dir, segs: rng, br: bufio.NewReaderSize(nil, readBufferSize), codecs: table}, nil
}

// Next advances to the next record and reports whether there is one. It
// returns false at the end of the range or on an error; Err tells which.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	for {
		if r.f == nil {
			if len(r.segs) == 0 {
				return false
			}
			if r.err = r.open(r.segs[0]); r.err != nil {
				return false
			}
			r.segs = r.segs[1:]
		}
		ok, err := r.readRecord()
		if ok {
			return true
		}
		if err != nil {
			r.err = err
			return false
		}
		// Clean end of this segment.
		if err := r.closeFile(); err != nil {
			r.err = err
			return false
		}
	}
}

// open starts reading segment i.
func (r *Reader) open(i int) error {
	f, err := os.Open(segmentPath(r.dir, i))
	if err != nil {
		return fmt.Errorf("open segment %d: %w", i, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close() // the stat error is the one worth reporting
		return fmt.Errorf("stat segment %d: %w", i, err)
	}
	r.f, r.size, r.off, r.seg = f, st.Size(), 0, i
	r.br.Reset(f)
	return nil
}

// readRecord reads the frame at r.off. It returns false, nil at a clean end
// of the segment.
func (r *Reader) readRecord() (bool, error) {
	hdr := r.hdr[:] // a field, not a local: a local would escape through io.ReadFull
	n, err := io.ReadFull(r.br, hdr)
	switch {
	case errors.Is(err, io.EOF):
		return false, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return false, r.corrupt(fmt.Errorf("torn frame: %d of %d header bytes", n, headerSize))
	case err != nil:
		return false, fmt.Errorf("read segment %d at offset %d: %w", r.seg, r.off, err)
	}
	size, codec := splitWord(binary.LittleEndian.Uint32(hdr[:4]))
	length := int64(size)
	sum := binary.LittleEndian.Uint32(hdr[4:])
	if length == 0 {
		return false, r.corrupt(errors.New("zero-length record"))
	}
	// Checking against the file size first means a garbage length can
	// never make the Reader allocate more than the segment holds.
	if rest := r.size - r.off - headerSize; length > rest {
		return false, r.corrupt(fmt.Errorf("record length %d exceeds the %d bytes left in the segment", length, max(rest, 0)))
	}
	if int64(cap(r.buf)) < length {
		r.buf = make([]byte, length)
	}
	r.buf = r.buf[:length]
	if n, err := io.ReadFull(r.br, r.buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return false, r.corrupt(fmt.Errorf("torn record: %d of %d payload bytes", n, length))
		}
		return false, fmt.Errorf("read segment %d at offset %d: %w", r.seg, r.off, err)
	}
	if got := frameCRC(codec, r.buf); got != sum {
		return false, r.corrupt(fmt.Errorf("checksum mismatch: stored %08x, computed %08x over %d bytes", sum, got, length))
	}
	if r.raw {
		codec = 0
	}
	rec, err := r.codecs.decode(r.dec, r.buf, codec)
	switch {
	case errors.Is(err, ErrUnknownCodec):
		// Intact, but not readable by this Reader: not corruption.
		return false, fmt.Errorf("segment %d offset %d: %w", r.seg, r.off, err)
	case err != nil:
		return false, r.corrupt(err)
	}
	if codec != 0 {
		r.dec = rec
	}
	r.rec, r.recOff = rec, r.off
	r.off += headerSize + length
	return true, nil
}

// corrupt wraps cause as a CorruptionError at the current frame.
func (r *Reader) corrupt(cause error) error {
	return &CorruptionError{Dir: r.dir, Segment: r.seg, Offset: r.off, Err: cause}
}

// Record returns the current record. It is valid until the next call to
// Next; callers that keep it must copy it.
func (r *Reader) Record() []byte { return r.rec }

// Segment returns the segment index of the current record, or of the bad
// record after an error.
func (r *Reader) Segment() int { return r.seg }

// Offset returns the offset of the current record's frame in its segment.
func (r *Reader) Offset() int64 { return r.recOff }

// Err returns nil after a clean end, a *CorruptionError (matching
// ErrCorrupt) for a record that cannot be read back, or an I/O error.
func (r *Reader) Err() error { return r.err }

// Close releases the open segment. It is idempotent.
func (r *Reader) Close() error {
	r.segs = nil
	return r.closeFile()
}

func (r *Reader) closeFile() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("close segment %d: %w", r.seg, err)
	}
	return nil
}
