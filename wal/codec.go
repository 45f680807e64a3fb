package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The constants below are part of the on-disk format (docs/format/wal.md,
// "Compressed frames").
const (
	// codecShift is the position of the codec id in a frame's length word.
	// A record is at most MaxSegmentSize-8 bytes, below 1<<28, so the top
	// four bits of the length were always zero before codecs existed: old
	// segments read as codec 0, uncompressed.
	codecShift = 28
	// lengthMask keeps the payload length of a frame's length word.
	lengthMask = 1<<codecShift - 1
	// MaxCodecID is the largest id a Codec may have; 0 means uncompressed.
	MaxCodecID = 15
)

// minCompress is the shortest record Log hands to Options.Compression:
// below it a codec's own header costs more than it saves.
const minCompress = 64

// ErrUnknownCodec is matched by the error of a Reader that meets a frame
// compressed by a codec it was not given. The frame's checksum is intact,
// so its records are not lost: reading it needs that codec.
var ErrUnknownCodec = errors.New("wal: record compressed by an unknown codec")

// Codec compresses record payloads inside their frames. A WAL writes with
// at most one codec (Options.Compression) and a Reader decodes the frames of
// every codec it is given, so a directory written under several settings
// stays readable. Implementations must be safe for concurrent use.
type Codec interface {
	// ID is the number a frame's header stores for payloads of this codec,
	// in [1, MaxCodecID]. It is part of the on-disk format: an id never
	// changes meaning.
	ID() uint8
	// Encode appends the compressed form of src to dst and returns the
	// extended slice. It does not retain src or dst.
	Encode(dst, src []byte) []byte
	// Decode appends the decompressed form of src to dst and returns the
	// extended slice. It returns an error, and appends nothing it would
	// keep, for input that is not a valid encoding or that would decompress
	// to more than limit bytes; it never allocates much more than limit.
	Decode(dst, src []byte, limit int) ([]byte, error)
}

// frameWord returns the length word of a frame of an n-byte payload
// written by codec id (0 for none).
func frameWord(n int, id uint8) uint32 { return uint32(n) | uint32(id)<<codecShift }

// splitWord returns the payload length and the codec id of a frame's length
// word. It must stay small enough to inline.
func splitWord(w uint32) (int, uint8) { return int(w & lengthMask), uint8(w >> codecShift) }

// frameCRC returns the checksum of a frame: the CRC-32C of the payload, and
// for a compressed frame of the codec id byte before it, so that a flipped
// codec bit fails the check like a flipped payload bit does. Frames of codec
// 0 keep the plain CRC of their payload, as written before codecs existed.
func frameCRC(id uint8, payload []byte) uint32 {
	if id == 0 {
		return crc32.Checksum(payload, castagnoli)
	}
	return crc32.Update(crc32.Update(0, castagnoli, []byte{id}), castagnoli, payload)
}

// appendCompressed appends rec to dst as one frame, compressed by c when
// that makes it shorter. scratch is reused for the compressed form and
// returned for the next call.
func appendCompressed(dst, rec []byte, c Codec, scratch []byte) (framed, spare []byte) {
	if len(rec) >= minCompress {
		scratch = c.Encode(scratch[:0], rec)
		if len(scratch) < len(rec) {
			dst = binary.LittleEndian.AppendUint32(dst, frameWord(len(scratch), c.ID()))
			dst = binary.LittleEndian.AppendUint32(dst, frameCRC(c.ID(), scratch))
			return append(dst, scratch...), scratch
		}
	}
	return appendRecord(dst, rec), scratch
}

// codecTable maps codec ids to codecs, for reading.
type codecTable [MaxCodecID + 1]Codec

// newCodecTable indexes codecs by id; nil entries are skipped.
func newCodecTable(codecs []Codec) (*codecTable, error) {
	var t codecTable
	for _, c := range codecs {
		if c == nil {
			continue
		}
		if err := checkCodec(c); err != nil {
			return nil, err
		}
		t[c.ID()] = c
	}
	return &t, nil
}

// checkCodec validates the id of c.
func checkCodec(c Codec) error {
	if id := c.ID(); id == 0 || id > MaxCodecID {
		return fmt.Errorf("wal: codec id %d outside [1, %d]", id, MaxCodecID)
	}
	return nil
}

// decode returns the record of a frame's payload written by codec id,
// appending it to dst when it must be decompressed.
func (t *codecTable) decode(dst, payload []byte, id uint8) ([]byte, error) {
	if id == 0 {
		return payload, nil
	}
	c := t[id]
	if c == nil {
		return nil, fmt.Errorf("%w %d", ErrUnknownCodec, id)
	}
	rec, err := c.Decode(dst[:0], payload, MaxSegmentSize-headerSize)
	if err != nil {
		return nil, fmt.Errorf("decode %d bytes of codec %d: %w", len(payload), id, err)
	}
	if len(rec) == 0 {
		return nil, fmt.Errorf("codec %d decoded %d bytes to an empty record", id, len(payload))
	}
	return rec, nil
}
