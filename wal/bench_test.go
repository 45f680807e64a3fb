package wal

import (
	"strconv"
	"sync"
	"testing"
)

const benchRecordSize = 16 << 10

func BenchmarkLog(b *testing.B) {
	for _, pol := range []FsyncPolicy{FsyncInterval, FsyncAlways} {
		for _, writers := range []int{1, 8} {
			b.Run(pol.String()+"/writers="+itoa(writers), func(b *testing.B) { benchLog(b, pol, writers) })
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func benchLog(b *testing.B, pol FsyncPolicy, writers int) {
	w, err := Open(b.TempDir(), Options{Fsync: pol})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rec := testRecord(1, benchRecordSize)
	b.SetBytes(benchRecordSize)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / writers
	for g := range writers {
		n := per
		if g == 0 {
			n += b.N % writers
		}
		wg.Go(func() {
			for range n {
				if err := w.Log(rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "records/s")
	b.ReportMetric(float64(b.N)*benchRecordSize/secs/1e6, "MB/s")
	if s := w.Stats(); s.Records != uint64(b.N) {
		b.Fatalf("%d records written, want %d", s.Records, b.N)
	}
}

func BenchmarkReader(b *testing.B) {
	dir := b.TempDir()
	w, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const records = 4096 // 64 MiB
	rec := testRecord(1, benchRecordSize)
	for range records {
		if err := w.Log(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(records * (benchRecordSize + headerSize))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := NewReader(dir, 0, -1)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			n++
		}
		if r.Err() != nil || n != records {
			b.Fatalf("read %d records, err %v", n, r.Err())
		}
		_ = r.Close()
	}
	b.ReportMetric(float64(b.N)*records*(benchRecordSize+headerSize)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkResync measures the resynchronising scan of a damaged segment:
// "garbage" is random bytes holding no frame at all, the worst case for
// the candidate checks; "damaged" is a segment of 64 KiB records whose
// first length is damaged, so the scan crosses one record's payload.
func BenchmarkResync(b *testing.B) {
	garbage := testRecord(42, 8<<20)
	var damaged []byte
	for i := range 128 {
		damaged = appendRecord(damaged, testRecord(uint64(i), 64<<10))
	}
	damaged[2] ^= 0x01
	for name, seg := range map[string][]byte{"garbage": garbage, "damaged": damaged} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(seg)))
			b.ReportAllocs()
			var ranges int
			for b.Loop() {
				ranges = len(scanSegment(seg, nil))
			}
			b.ReportMetric(float64(ranges), "ranges")
		})
	}
}
