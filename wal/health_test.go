package wal

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// faultDisk is an Options.CreateFile that makes the files it creates fail
// on demand: while full, a write stores half of its bytes and fails with
// ENOSPC, as a filling disk tears the write that does not fit; while
// syncFails, fsync fails with EIO.
type faultDisk struct {
	full      atomic.Bool
	syncFails atomic.Bool
	failEvery int64        // if set, every failEvery-th write fails as if the disk were full
	writes    atomic.Int64 // writes so far
}

func (d *faultDisk) create(path string) (File, error) {
	f, err := createFile(path)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: f, d: d}, nil
}

type faultFile struct {
	File
	d *faultDisk
}

func (f *faultFile) Write(p []byte) (int, error) {
	n := f.d.writes.Add(1)
	if f.d.full.Load() || (f.d.failEvery > 0 && n%f.d.failEvery == 0) {
		n, err := f.File.Write(p[:len(p)/2])
		if err != nil {
			return n, err
		}
		return n, &os.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if f.d.syncFails.Load() {
		return &os.PathError{Op: "sync", Path: "segment", Err: syscall.EIO}
	}
	return f.File.Sync()
}

// readBack reopens dir and returns every record, failing on corruption.
func readBack(t *testing.T, dir string) [][]byte {
	t.Helper()
	w, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, dir, 0, -1)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	return got
}

// TestDiskFullRecovers fills the disk under a WAL: the torn write and every
// later one fail with ErrUnavailable, Recover fails while the disk is full
// and succeeds once it is not, and after that records are written again.
// Every acknowledged record reads back, and no segment holds the torn
// bytes.
func TestDiskFullRecovers(t *testing.T) {
	for _, pol := range []FsyncPolicy{FsyncInterval, FsyncAlways} {
		t.Run(pol.String(), func(t *testing.T) {
			dir := t.TempDir()
			var disk faultDisk
			var logs logBuffer
			w := mustOpen(t, dir, Options{Fsync: pol, CreateFile: disk.create, Logger: logs.logger()})
			var acked [][]byte
			logOK := func(id uint64) {
				t.Helper()
				rec := testRecord(id, 100)
				if err := w.Log(rec); err != nil {
					t.Fatalf("Log %d: %v", id, err)
				}
				acked = append(acked, rec)
			}
			for i := range 5 {
				logOK(uint64(i))
			}
			if err := w.Err(); err != nil {
				t.Fatalf("Err() before the failure = %v", err)
			}
			failed := w.Failed()

			disk.full.Store(true)
			err := w.Log(testRecord(100, 100))
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Log on a full disk: got %v, want ErrUnavailable wrapping ENOSPC", err)
			}
			select {
			case <-failed:
			default:
				t.Fatal("Failed() not closed after the failure")
			}
			if err := w.Log(testRecord(101, 10)); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Log while unavailable: got %v", err)
			}
			if err := w.Err(); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Err() while unavailable = %v", err)
			}
			if _, err := w.Recover(); !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Recover on a full disk: got %v, want the probe's ENOSPC", err)
			}

			disk.full.Store(false)
			rec, err := w.Recover()
			if err != nil {
				t.Fatalf("Recover after space came back: %v", err)
			}
			if rec.AckedBytesCut != 0 || rec.Segment != 0 {
				t.Fatalf("Recovery = %+v, want segment 0 and nothing acknowledged cut", rec)
			}
			if err := w.Err(); err != nil {
				t.Fatalf("Err() after recovery = %v", err)
			}
			if again, err := w.Recover(); err != nil || again != (Recovery{}) {
				t.Fatalf("Recover of a healthy WAL = %+v, %v", again, err)
			}
			for i := range 5 {
				logOK(uint64(200 + i))
			}
			if s := w.Stats(); s.Failures != 1 || s.Recoveries != 1 || s.Segment != 1 {
				t.Fatalf("Stats = %+v, want 1 failure, 1 recovery, writing segment 1", s)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(segmentPath(dir, 0))
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(5 * (headerSize + 100)); st.Size() != want {
				t.Fatalf("failed segment is %d bytes, want %d (cut back to its last whole frame)", st.Size(), want)
			}
			if _, err := os.Stat(filepath.Join(dir, probeName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("probe file left behind: %v", err)
			}
			equalRecords(t, readBack(t, dir), acked)
			for _, want := range []string{"level=ERROR", "WAL writable again"} {
				if !strings.Contains(logs.String(), want) {
					t.Fatalf("log lacks %q:\n%s", want, logs.String())
				}
			}
		})
	}
}

// TestFsyncFailureCutsUnsynced fails an fsync under the interval policy:
// records acknowledged since the last good fsync may be gone from disk, so
// Recover cuts the segment back to what that fsync covered and reports the
// bytes, for the owner to checkpoint them from memory.
func TestFsyncFailureCutsUnsynced(t *testing.T) {
	dir := t.TempDir()
	var disk faultDisk
	// No background fsync during the test: Sync calls decide.
	w := mustOpen(t, dir, Options{FsyncInterval: time.Hour, CreateFile: disk.create})
	synced := [][]byte{testRecord(1, 50), testRecord(2, 50)}
	if err := w.Log(synced...); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	unsynced := [][]byte{testRecord(3, 70), testRecord(4, 70)}
	for _, r := range unsynced {
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
	}
	disk.syncFails.Store(true)
	if err := w.Sync(); !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync with a failing fsync: got %v", err)
	}
	if err := w.Log(testRecord(5, 10)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Log after a failed fsync: got %v", err)
	}
	if _, err := w.Recover(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Recover while fsync fails: got %v", err)
	}
	disk.syncFails.Store(false)
	rec, err := w.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * (headerSize + 70)); rec.AckedBytesCut != want || rec.Segment != 0 {
		t.Fatalf("Recovery = %+v, want segment 0 and %d acknowledged bytes cut", rec, want)
	}
	after := testRecord(6, 30)
	if err := w.Log(after); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	equalRecords(t, readBack(t, dir), append(synced, after))
}

// TestFsyncAlwaysFailureCutsNothingAcked: under FsyncAlways a failed fsync
// fails its own Log call, and every acknowledged record was fsynced before.
func TestFsyncAlwaysFailureCutsNothingAcked(t *testing.T) {
	dir := t.TempDir()
	var disk faultDisk
	w := mustOpen(t, dir, Options{Fsync: FsyncAlways, CreateFile: disk.create})
	acked := [][]byte{testRecord(1, 40), testRecord(2, 40)}
	for _, r := range acked {
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
	}
	disk.syncFails.Store(true)
	if err := w.Log(testRecord(3, 40)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Log with a failing fsync: got %v", err)
	}
	disk.syncFails.Store(false)
	rec, err := w.Recover()
	if err != nil || rec.AckedBytesCut != 0 {
		t.Fatalf("Recover = %+v, %v; want nothing acknowledged cut", rec, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	equalRecords(t, readBack(t, dir), acked)
}

// TestRecoverAfterFailedCut: a segment that cannot be created leaves no
// segment open; Recover creates the next one.
func TestRecoverAfterFailedCut(t *testing.T) {
	dir := t.TempDir()
	var disk faultDisk
	var refuse atomic.Bool
	create := func(path string) (File, error) {
		if refuse.Load() {
			return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOSPC}
		}
		return disk.create(path)
	}
	w := mustOpen(t, dir, Options{Fsync: FsyncAlways, SegmentSize: 256, CreateFile: create})
	var acked [][]byte
	for i := range 2 {
		r := testRecord(uint64(i), 100)
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, r)
	}
	refuse.Store(true)
	if err := w.Log(testRecord(9, 100)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Log needing a new segment: got %v", err)
	}
	if _, err := w.Recover(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Recover: got %v", err)
	}
	refuse.Store(false)
	if _, err := w.Recover(); err != nil {
		t.Fatal(err)
	}
	r := testRecord(10, 100)
	if err := w.Log(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	equalRecords(t, readBack(t, dir), append(acked, r))
}

// TestLogAcrossFailures runs concurrent writers, which retry refused
// records as senders do, over a disk on which every few writes fail, while
// a recoverer calls Recover whenever the WAL fails: every call that
// returned nil must find its record on replay, in its writer's order.
func TestLogAcrossFailures(t *testing.T) {
	dir := t.TempDir()
	disk := faultDisk{failEvery: 7}
	w, err := Open(dir, Options{SegmentSize: 4096, CreateFile: disk.create})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-w.Failed():
			}
			for {
				if _, err := w.Recover(); err == nil {
					break
				}
				runtime.Gosched()
			}
		}
	})
	const writers, perWriter = 4, 60
	acked := make([][]uint64, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := 0; len(acked[g]) < perWriter; i++ {
				id := uint64(g)<<32 | uint64(i)
				err := w.Log(testRecord(id, 20+i%50))
				switch {
				case err == nil:
					acked[g] = append(acked[g], id)
				case errors.Is(err, ErrUnavailable):
					runtime.Gosched()
				default:
					t.Errorf("Log: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	if _, err := w.Recover(); err != nil {
		t.Fatal(err)
	}
	failures := w.Stats().Failures
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d failures", failures)
	if failures < 10 {
		t.Fatalf("only %d failures: the test did not exercise recovery", failures)
	}
	pos := make([]int, writers)
	for _, rec := range readBack(t, dir) {
		id := binary.LittleEndian.Uint64(rec)
		g := int(id >> 32)
		if pos[g] < len(acked[g]) && acked[g][pos[g]] == id {
			pos[g]++
		}
	}
	for g := range writers {
		if pos[g] != len(acked[g]) {
			t.Fatalf("writer %d: %d of %d acknowledged records read back in order", g, pos[g], len(acked[g]))
		}
	}
}
