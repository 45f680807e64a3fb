package head

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// TestSymRefsBytes pins the encoding: uvarints, low bits first.
func TestSymRefsBytes(t *testing.T) {
	var b []byte
	for _, id := range []uint32{0, 127, 128, 300, math.MaxUint32} {
		b = appendSymRef(b, id)
	}
	want := []byte{0x00, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if !slices.Equal(b, want) {
		t.Fatalf("encoded % x, want % x", b, want)
	}
}

// FuzzSymRefs encodes the ids spelled by the input and decodes them back,
// by at and by each, and checks the encoding against encoding/binary's
// uvarint.
func FuzzSymRefs(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ids []uint32
		for len(data) >= 4 {
			id := binary.LittleEndian.Uint32(data)
			ids = append(ids, id>>(id%32)) // ids of every length
			data = data[4:]
		}
		var b, std []byte
		for _, id := range ids {
			b = appendSymRef(b, id)
			std = binary.AppendUvarint(std, uint64(id))
		}
		if !slices.Equal(b, std) {
			t.Fatalf("encoding % x differs from uvarint % x", b, std)
		}
		r := symRefs(b)
		var got []uint32
		for i := 0; i < len(r); {
			var id uint32
			id, i = r.at(i)
			got = append(got, id)
		}
		var each []uint32
		r.each(func(id uint32) { each = append(each, id) })
		if !slices.Equal(got, ids) || !slices.Equal(each, ids) {
			t.Fatalf("decoded %v and %v, want %v", got, each, ids)
		}
	})
}
