package head

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// Value tags of a packed samples record (docs/format/wal-records.md,
// "Packed samples"): the low three bits of each value word. Part of the
// on-disk format: never renumber them.
const (
	valInt     = 0 // the value is the integer payload (zigzag)
	valDec1    = 1 // the value is the integer payload (zigzag) / 10
	valDec2    = 2 // ... / 100
	valDec3    = 3 // ... / 1000
	valFloat32 = 4 // the value is the float32 in the 4 bytes that follow
	valRaw     = 5 // the value is the float64 in the 8 bytes that follow
	valTagBits = 3
)

// maxExact is the largest magnitude of an integer a float64 holds exactly
// with every smaller one: 2^53.
const maxExact = 1 << 53

// negZero is the bit pattern of -0.
const negZero = 1 << 63

// decScale are the divisors of valDec1..valDec3.
var decScale = [...]float64{valDec1: 10, valDec2: 100, valDec3: 1000}

// encodeSamples appends a packed samples record to b. The record holds
// three columns: each sample's ref as the signed delta from the sample
// before (the first from the record's base ref), then each timestamp the
// same way, then each value in the shortest exact form among an integer, a
// decimal with up to three digits after the point, a float32 and the raw
// float64, so that every bit pattern (NaN payloads included) replays as
// written. For the usual batch, consecutive series scraped at one time,
// the first two columns are runs of one byte that a codec's compression
// takes down to almost nothing.
func encodeSamples(b []byte, samples []sampleRecord) []byte {
	b = append(b, recSamplesPacked)
	b = binary.AppendUvarint(b, uint64(len(samples)))
	if len(samples) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(samples[0].Ref))
	b = binary.AppendVarint(b, samples[0].T)
	prevRef := int64(samples[0].Ref)
	for _, s := range samples {
		b = binary.AppendVarint(b, int64(s.Ref)-prevRef)
		prevRef = int64(s.Ref)
	}
	prevT := samples[0].T
	for _, s := range samples {
		b = binary.AppendVarint(b, s.T-prevT)
		prevT = s.T
	}
	for _, s := range samples {
		b = appendValue(b, s.V)
	}
	return b
}

// appendValue appends the value word of v, and the float bytes its tag
// calls for, to b.
func appendValue(b []byte, v float64) []byte {
	bits := math.Float64bits(v)
	// Negative zero is no integer nor decimal: it would replay as +0.
	if v == math.Trunc(v) && math.Abs(v) < maxExact && bits != negZero {
		return binary.AppendUvarint(b, zigzag(int64(v))<<valTagBits|valInt)
	}
	// The comparison is also false for NaN and the infinities.
	if math.Abs(v) < maxExact/1000 && bits != negZero {
		for tag := valDec1; tag <= valDec3; tag++ {
			k := math.Round(v * decScale[tag])
			if math.Float64bits(k/decScale[tag]) == bits {
				return binary.AppendUvarint(b, zigzag(int64(k))<<valTagBits|uint64(tag))
			}
		}
	}
	if f := float32(v); float64(f) == v {
		b = append(b, valFloat32)
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	b = append(b, valRaw)
	return binary.LittleEndian.AppendUint64(b, bits)
}

// zigzag maps signed integers to unsigned ones, small magnitudes to small
// numbers: 0, -1, 1, -2, ... to 0, 1, 2, 3, ...
func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// unzigzag inverts zigzag.
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// value reads a value word and the float bytes its tag calls for.
func (d *decoder) value() float64 {
	w := d.uvarint()
	switch tag := w & (1<<valTagBits - 1); tag {
	case valInt:
		return float64(unzigzag(w >> valTagBits))
	case valDec1, valDec2, valDec3:
		return float64(unzigzag(w>>valTagBits)) / decScale[tag]
	case valFloat32:
		if w != valFloat32 || len(d.b) < 4 {
			d.fail("float32 value")
			return 0
		}
		v := math.Float32frombits(binary.LittleEndian.Uint32(d.b))
		d.b = d.b[4:]
		return float64(v)
	case valRaw:
		if w != valRaw {
			d.fail("float64 value")
			return 0
		}
		return d.float()
	}
	d.fail("value tag")
	return 0
}

// decodePackedSamples appends the samples of a packed samples record to dst.
func decodePackedSamples(rec []byte, dst []sampleRecord) ([]sampleRecord, error) {
	d := decoder{b: rec[1:]}
	n := d.count(3)
	if n == 0 {
		return dst, d.end()
	}
	ref := int64(d.uvarint())
	t := d.varint()
	first := len(dst)
	for i := 0; i < n && d.err == nil; i++ {
		ref += d.varint()
		dst = append(dst, sampleRecord{Ref: model.SeriesRef(ref)})
	}
	out := dst[first:]
	for i := 0; i < len(out) && d.err == nil; i++ {
		t += d.varint()
		out[i].T = t
	}
	for i := 0; i < len(out) && d.err == nil; i++ {
		out[i].V = d.value()
	}
	if err := d.end(); err != nil {
		return dst, fmt.Errorf("packed samples record: %w", err)
	}
	return dst, nil
}
