package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentLog checks that under concurrent callers every record is
// written exactly once and each call's records stay contiguous and ordered.
// With a codec, the records of even parts are runs it compresses, so that
// compressed and plain frames mix.
func TestConcurrentLog(t *testing.T) {
	for _, pol := range []FsyncPolicy{FsyncInterval, FsyncAlways} {
		t.Run(pol.String(), func(t *testing.T) { testConcurrentLog(t, pol, nil) })
	}
	t.Run("compressed", func(t *testing.T) { testConcurrentLog(t, FsyncInterval, rleCodec{id: 1}) })
}

func testConcurrentLog(t *testing.T, pol FsyncPolicy, codec Codec) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{SegmentSize: 64 << 10, Fsync: pol, Compression: codec})
	const writers, calls = 16, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for c := range calls {
				// Each call logs 1..4 records tagged writer/call/position.
				n := 1 + (g+c)%4
				recs := make([][]byte, n)
				for k := range recs {
					recs[k] = concRecord(g, c, k, n, 1+(g*131+c*17+k)%3000)
				}
				if err := w.Log(recs...); err != nil {
					t.Errorf("writer %d call %d: %v", g, c, err)
					return
				}
				if g == 0 && c%50 == 0 {
					if _, err := w.Cut(); err != nil {
						t.Errorf("Cut: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, -1, rleCodec{id: 1})
	if err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers) // next call expected from each writer
	for i := 0; i < len(got); {
		g, c, k, n := parseConcRecord(got[i])
		if k != 0 || c != next[g] {
			t.Fatalf("record %d: writer %d call %d part %d/%d, want call %d part 0", i, g, c, k, n, next[g])
		}
		for j := range n {
			if i+j >= len(got) {
				t.Fatalf("call %d/%d truncated", g, c)
			}
			g2, c2, k2, n2 := parseConcRecord(got[i+j])
			if g2 != g || c2 != c || k2 != j || n2 != n {
				t.Fatalf("record %d: got %d/%d part %d/%d inside call %d/%d", i+j, g2, c2, k2, n2, g, c)
			}
		}
		next[g]++
		i += n
	}
	for g, n := range next {
		if n != calls {
			t.Fatalf("writer %d: %d calls read back, want %d", g, n, calls)
		}
	}
}

func concRecord(g, c, k, n, size int) []byte {
	rec := make([]byte, max(size, 16))
	binary.LittleEndian.PutUint32(rec[0:], uint32(g))
	binary.LittleEndian.PutUint32(rec[4:], uint32(c))
	binary.LittleEndian.PutUint32(rec[8:], uint32(k))
	binary.LittleEndian.PutUint32(rec[12:], uint32(n))
	for i := 16; i < len(rec); i++ {
		if k%2 == 0 {
			rec[i] = byte(g + c)
		} else {
			rec[i] = byte(g + c + i)
		}
	}
	return rec
}

func parseConcRecord(rec []byte) (g, c, k, n int) {
	if len(rec) < 16 {
		panic(fmt.Sprintf("short record %x", rec))
	}
	g, c = int(binary.LittleEndian.Uint32(rec)), int(binary.LittleEndian.Uint32(rec[4:]))
	k, n = int(binary.LittleEndian.Uint32(rec[8:])), int(binary.LittleEndian.Uint32(rec[12:]))
	if !bytes.Equal(rec, concRecord(g, c, k, n, len(rec))) {
		panic("record payload damaged")
	}
	return g, c, k, n
}
