package head

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
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

// TestInternLabelsCountsReferences interns label sets that share most
// strings with the set before (the hinted path) and some that do not, with
// frees and reuses of ids between: every symbol ends with one reference
// per use, each set reads back as itself, and releasing every set empties
// the table.
func TestInternLabelsCountsReferences(t *testing.T) {
	syms := newSymbols()
	var sb labels.ScratchBuilder
	var held []symRefs
	var want []labels.Labels
	uses := map[string]int{}
	for i := range 3000 {
		lset := targetLabels(&sb, i*7%1100)
		if i%5 == 0 {
			lset = labels.FromStrings("a", strconv.Itoa(i), "job", "x")
		}
		ids := syms.internLabels(lset)
		held, want = append(held, ids), append(want, lset)
		lset.Range(func(l labels.Label) { uses[l.Name]++; uses[l.Value]++ })
		if i%500 == 499 { // free the oldest half: ids are reused after
			for _, ids := range held[:len(held)/2] {
				syms.release(ids)
			}
			for _, l := range want[:len(want)/2] {
				l.Range(func(l labels.Label) { uses[l.Name]--; uses[l.Value]-- })
			}
			held, want = held[len(held)/2:], want[len(want)/2:]
		}
	}
	for i, ids := range held {
		if got := syms.labels(ids, &sb); !labels.Equal(got, want[i]) {
			t.Fatalf("set %d reads back as %s, want %s", i, got, want[i])
		}
	}
	syms.mu.Lock()
	for s, n := range uses {
		if id, ok := syms.ids[s]; n > 0 && (!ok || int(syms.refs[id]) != n) {
			t.Fatalf("symbol %q: %d references, want %d", s, syms.refs[id], n)
		}
	}
	syms.mu.Unlock()
	for _, ids := range held {
		syms.release(ids)
	}
	if n := syms.live(); n != 0 {
		t.Fatalf("%d symbols left after releasing every set", n)
	}
}
