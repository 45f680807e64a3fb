package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"
)

// Errors of the protobuf wire-format reader. They mirror the conditions
// under which the generated gogo/protobuf code refuses a message, so that the
// hand-written decoders accept exactly the inputs gogo accepts.
var (
	errIntOverflow    = errors.New("proto: integer overflow")
	errInvalidLength  = errors.New("proto: negative length")
	errUnexpectedEOF  = fmt.Errorf("proto: %w", io.ErrUnexpectedEOF)
	errEndGroup       = errors.New("proto: end group for non-group")
	errIllegalTag     = errors.New("proto: illegal tag")
	errWrongWireType  = errors.New("proto: wrong wire type")
	errIllegalWireTyp = errors.New("proto: illegal wire type")
)

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireStart   = 3
	wireEnd     = 4
	wireFixed32 = 5
)

// protoReader walks one protobuf message held in buf. Strings it returns
// point into buf: they are valid only while buf is neither reused nor
// changed.
type protoReader struct {
	buf []byte
	i   int
}

// done reports whether the whole message was read.
func (r *protoReader) done() bool { return r.i >= len(r.buf) }

// varint reads a base-128 varint the way gogo does: at most ten bytes, bits
// beyond the 64th silently dropped.
func (r *protoReader) varint() (uint64, error) {
	// Fast path for the one-byte varints that dominate (tags, small
	// counts), small enough to inline.
	if r.i < len(r.buf) && r.buf[r.i] < 0x80 {
		v := uint64(r.buf[r.i])
		r.i++
		return v, nil
	}
	return r.varintSlow()
}

// varintSlow is varint for any length.
func (r *protoReader) varintSlow() (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, errIntOverflow
		}
		if r.i >= len(r.buf) {
			return 0, errUnexpectedEOF
		}
		b := r.buf[r.i]
		r.i++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
}

// tag reads a field tag. Like gogo it truncates the field number to int32
// and refuses numbers ≤ 0 and end-group markers.
func (r *protoReader) tag() (field int32, wire int, err error) {
	v, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	field, wire = int32(v>>3), int(v&7)
	if wire == wireEnd {
		return 0, 0, errEndGroup
	}
	if field <= 0 {
		return 0, 0, fmt.Errorf("%w %d", errIllegalTag, field)
	}
	return field, wire, nil
}

// bytes reads a length-delimited field and returns a sub-slice of buf.
func (r *protoReader) bytes() ([]byte, error) {
	v, err := r.varint()
	if err != nil {
		return nil, err
	}
	n := int(v)
	if n < 0 {
		return nil, errInvalidLength
	}
	end := r.i + n
	if end < 0 {
		return nil, errInvalidLength
	}
	if end > len(r.buf) {
		return nil, errUnexpectedEOF
	}
	b := r.buf[r.i:end:end]
	r.i = end
	return b, nil
}

// str reads a length-delimited field as a string that aliases buf.
func (r *protoReader) str() (string, error) {
	b, err := r.bytes()
	if err != nil || len(b) == 0 {
		return "", err
	}
	return unsafe.String(&b[0], len(b)), nil
}

// uint32s reads a repeated uint32 field whose tag was just read, packed
// (wire type bytes) or not (varint), appending to dst, as the generated
// code does: values keep their low 32 bits, and like it a packed run's
// last varint may extend past the run's declared end.
func (r *protoReader) uint32s(dst []uint32, field int32, wire int) ([]uint32, error) {
	switch wire {
	case wireVarint:
		v, err := r.varint()
		if err != nil {
			return dst, err
		}
		return append(dst, uint32(v)), nil
	case wireBytes:
		v, err := r.varint()
		if err != nil {
			return dst, err
		}
		n := int(v)
		if n < 0 {
			return dst, errInvalidLength
		}
		end := r.i + n
		if end < 0 {
			return dst, errInvalidLength
		}
		if end > len(r.buf) {
			return dst, errUnexpectedEOF
		}
		for r.i < end {
			v, err := r.varint()
			if err != nil {
				return dst, err
			}
			dst = append(dst, uint32(v))
		}
		return dst, nil
	default:
		return dst, fmt.Errorf("%w %d for field %d", errWrongWireType, wire, field)
	}
}

// fixed64 reads eight little-endian bytes.
func (r *protoReader) fixed64() (uint64, error) {
	if r.i+8 > len(r.buf) {
		return 0, errUnexpectedEOF
	}
	v := binary.LittleEndian.Uint64(r.buf[r.i:])
	r.i += 8
	return v, nil
}

// double reads a fixed64 field as a float64, bit for bit.
func (r *protoReader) double() (float64, error) {
	v, err := r.fixed64()
	return math.Float64frombits(v), err
}

// expect checks that wire type got is want.
func expect(field int32, got, want int) error {
	if got != want {
		return fmt.Errorf("%w %d for field %d", errWrongWireType, got, field)
	}
	return nil
}

// skip jumps over one field of the given wire type whose tag was just read,
// following gogo's skip rules, groups included.
func (r *protoReader) skip(wire int) error {
	depth := 0
	for {
		switch wire {
		case wireVarint:
			if _, err := r.varint(); err != nil {
				return err
			}
		case wireFixed64:
			r.i += 8
		case wireBytes:
			v, err := r.varint()
			if err != nil {
				return err
			}
			if int(v) < 0 {
				return errInvalidLength
			}
			r.i += int(v)
		case wireStart:
			depth++
		case wireEnd:
			if depth == 0 {
				return errEndGroup
			}
			depth--
		case wireFixed32:
			r.i += 4
		default:
			return fmt.Errorf("%w %d", errIllegalWireTyp, wire)
		}
		if r.i < 0 {
			return errInvalidLength
		}
		if depth == 0 {
			if r.i > len(r.buf) {
				return errUnexpectedEOF
			}
			return nil
		}
		if r.i >= len(r.buf) {
			return errUnexpectedEOF
		}
		v, err := r.varint()
		if err != nil {
			return err
		}
		wire = int(v & 7)
	}
}
