package replication

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/prometheus/prometheus/prompb"
)

// ErrCorruptStream is wrapped by the errors of chunkedReader for a streamed
// remote-read answer that is not a well-formed sequence of frames.
var ErrCorruptStream = errors.New("corrupt streamed remote-read answer")

// chunkedReader decodes the frames of a streamed remote-read answer
// (STREAMED_XOR_CHUNKS), as the remote-read handler writes them:
//
//	frame := uvarint(len(msg)) crc32c(msg) msg
//
// where crc32c is the big-endian Castagnoli checksum of msg and msg a
// serialized prometheus.ChunkedReadResponse. A frame longer than maxFrame
// bytes is refused before anything is allocated for it.
type chunkedReader struct {
	r        *bufio.Reader
	maxFrame uint64
	table    *crc32.Table
	buf      []byte
}

func newChunkedReader(r io.Reader, maxFrame uint64) *chunkedReader {
	return &chunkedReader{r: bufio.NewReader(r), maxFrame: maxFrame, table: crc32.MakeTable(crc32.Castagnoli)}
}

// next decodes the next frame into resp. It returns io.EOF at the clean
// end of the stream (no byte of a new frame read), and an error wrapping
// ErrCorruptStream for a truncated frame, a bad checksum, a frame over the
// limit or a message that does not decode.
func (c *chunkedReader) next(resp *prompb.ChunkedReadResponse) error {
	size, err := binary.ReadUvarint(c.r)
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("%w: frame length: %w", ErrCorruptStream, err)
	}
	if size > c.maxFrame {
		return fmt.Errorf("%w: frame of %d bytes, above the limit of %d", ErrCorruptStream, size, c.maxFrame)
	}
	var sum [4]byte
	if _, err := io.ReadFull(c.r, sum[:]); err != nil {
		return fmt.Errorf("%w: frame checksum: %w", ErrCorruptStream, noEOF(err))
	}
	if uint64(cap(c.buf)) < size {
		c.buf = make([]byte, size)
	}
	msg := c.buf[:size]
	if _, err := io.ReadFull(c.r, msg); err != nil {
		return fmt.Errorf("%w: frame of %d bytes: %w", ErrCorruptStream, size, noEOF(err))
	}
	if got, want := crc32.Checksum(msg, c.table), binary.BigEndian.Uint32(sum[:]); got != want {
		return fmt.Errorf("%w: frame checksum %08x, want %08x", ErrCorruptStream, got, want)
	}
	resp.Reset()
	if err := resp.Unmarshal(msg); err != nil {
		return fmt.Errorf("%w: decode frame: %w", ErrCorruptStream, err)
	}
	return nil
}

// noEOF turns a clean EOF inside a frame into io.ErrUnexpectedEOF: the
// stream ended mid-frame.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
