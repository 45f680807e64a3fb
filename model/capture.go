package model

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxCaptureRecord bounds one record of a capture file, so that a corrupt
// length cannot make the reader allocate without limit.
const MaxCaptureRecord = 64 << 20

// CaptureReader reads a remote-write capture: a sequence of records
// [uvarint length][body], each body one request body exactly as sent on the
// wire. The format is described in docs/format/capture.md.
type CaptureReader struct {
	r   *bufio.Reader
	buf []byte
	n   int
}

// NewCaptureReader returns a reader of the records in r.
func NewCaptureReader(r io.Reader) *CaptureReader {
	return &CaptureReader{r: bufio.NewReaderSize(r, 1<<16)}
}

// Next returns the next record's body. The slice is valid until the next call.
// At the end of the capture it returns io.EOF.
func (c *CaptureReader) Next() ([]byte, error) {
	n, err := binary.ReadUvarint(c.r)
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("capture record %d: length: %w", c.n, err)
	}
	if n > MaxCaptureRecord {
		return nil, fmt.Errorf("capture record %d: length %d exceeds %d", c.n, n, MaxCaptureRecord)
	}
	if uint64(cap(c.buf)) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		return nil, fmt.Errorf("capture record %d: body of %d bytes: %w", c.n, n, err)
	}
	c.n++
	return c.buf, nil
}
