package replication_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gorilla-remote/gorilla-remote/replication"
)

// openQueue opens a queue in dir, closed at the end of the test.
func openQueue(t *testing.T, dir string, opts replication.QueueOptions) *replication.Queue {
	t.Helper()
	q, err := replication.OpenQueue(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func appendN(t *testing.T, q *replication.Queue, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		err := q.Append(replication.Request{Samples: 2, ContentType: "ct", Version: "2.0.0", Tenant: "team-a", Body: []byte(fmt.Sprintf("body-%04d", i))})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readAll reads and acknowledges windows of up to max requests until the
// queue is empty, and returns their bodies.
func readAll(t *testing.T, q *replication.Queue, max int) []string {
	t.Helper()
	var out []string
	for q.Stats().BacklogRequests > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		win, err := q.Read(ctx, max, 1<<20)
		cancel()
		if err != nil {
			t.Fatalf("Read with %d requests queued: %v", q.Stats().BacklogRequests, err)
		}
		for _, r := range win {
			out = append(out, string(r.Body))
			if r.Tenant != "team-a" || r.Version != "2.0.0" || r.ContentType != "ct" || r.Samples != 2 {
				t.Fatalf("request %d read back as %+v", r.Seq, r)
			}
		}
		if err := q.Ack(win); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func wantBodies(t *testing.T, got []string, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("read %d requests, want %d: %q", len(got), n, got)
	}
	for i, b := range got {
		if want := fmt.Sprintf("body-%04d", from+i); b != want {
			t.Fatalf("request %d = %q, want %q", i, b, want)
		}
	}
}

// copyDir copies a queue directory as a crash would leave it: whatever the
// files hold now, without a Close.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o777)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o666)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func TestQueueSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, replication.QueueOptions{MemoryBytes: 1})
	appendN(t, q, 0, 20)
	// Seven are sent and acknowledged before the crash.
	win, err := q.Read(context.Background(), 7, 1<<20)
	if err != nil || len(win) != 7 {
		t.Fatalf("Read = %d requests, %v; want 7", len(win), err)
	}
	if err := q.Ack(win); err != nil {
		t.Fatal(err)
	}
	crashed := copyDir(t, dir)

	q2 := openQueue(t, crashed, replication.QueueOptions{})
	if got := q2.Stats().BacklogRequests; got != 13 {
		t.Fatalf("backlog after the crash = %d, want 13", got)
	}
	appendN(t, q2, 20, 5) // numbering goes on after the crash
	wantBodies(t, readAll(t, q2, 4), 7, 18)
}

func TestQueueCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, replication.QueueOptions{})
	appendN(t, q, 0, 10)
	crashed := copyDir(t, dir)
	// The crash tore the last record: its last 3 bytes never reached the
	// file.
	segs, _ := filepath.Glob(filepath.Join(crashed, "0*"))
	var last string
	for _, s := range segs {
		if st, _ := os.Stat(s); st.Size() > 0 {
			last = s
		}
	}
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, st.Size()-3); err != nil {
		t.Fatal(err)
	}
	q2 := openQueue(t, crashed, replication.QueueOptions{})
	wantBodies(t, readAll(t, q2, 100), 0, 9)
}

func TestQueueDrainsAndDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, replication.QueueOptions{SegmentSize: 256, MemoryBytes: 200})
	appendN(t, q, 0, 100)
	if n := segments(t, dir); n < 10 {
		t.Fatalf("%d segments for 100 requests in 256-byte segments, want many", n)
	}
	wantBodies(t, readAll(t, q, 3), 0, 100)
	if n := segments(t, dir); n > 1 {
		t.Fatalf("%d segments left after draining, want only the one being written", n)
	}
	st := q.Stats()
	if st.BacklogBytes != 0 || st.BacklogSamples != 0 || !st.Oldest.IsZero() || st.DroppedRequests != 0 {
		t.Fatalf("stats after draining = %+v, want an empty backlog and no drops", st)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q2 := openQueue(t, dir, replication.QueueOptions{})
	if got := q2.Stats().BacklogRequests; got != 0 {
		t.Fatalf("backlog after reopening a drained queue = %d, want 0", got)
	}
}

// segments counts the non-empty segment files of dir.
func segments(t *testing.T, dir string) int {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "0*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			n++
		}
	}
	return n
}

func TestQueueReadsFromDiskAndMemory(t *testing.T) {
	q := openQueue(t, t.TempDir(), replication.QueueOptions{MemoryBytes: 100, SegmentSize: 512})
	appendN(t, q, 0, 50) // far more than the memory holds: read from disk
	if !q.Spilled() {
		t.Fatal("50 requests fit in 100 bytes of memory")
	}
	got := readAll(t, q, 7)
	appendN(t, q, 50, 1) // caught up: from memory again
	if q.Spilled() {
		t.Fatal("a reader that caught up still reads from disk")
	}
	got = append(got, readAll(t, q, 7)...)
	wantBodies(t, got, 0, 51)
}

func TestQueueDropsOverMaxBytes(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, replication.QueueOptions{MaxBytes: 2000, SegmentSize: 512})
	appendN(t, q, 0, 200)
	st := q.Stats()
	if st.BacklogBytes > 2000 {
		t.Fatalf("backlog %d bytes, over the bound of 2000", st.BacklogBytes)
	}
	if st.DroppedRequests == 0 || st.DroppedRequests+st.BacklogRequests != 200 {
		t.Fatalf("dropped %d and kept %d of 200 requests, want drops and nothing else lost", st.DroppedRequests, st.BacklogRequests)
	}
	if st.DroppedSamples != 2*st.DroppedRequests {
		t.Fatalf("dropped %d samples of %d requests, want 2 each", st.DroppedSamples, st.DroppedRequests)
	}
	// What is left is the newest, in order.
	kept := int(st.BacklogRequests)
	wantBodies(t, readAll(t, q, 10), 200-kept, kept)
	if n := segments(t, dir); n > 1 {
		t.Fatalf("%d segments left, want only the one being written", n)
	}
}

func TestQueueDropsOverMaxLag(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	q := openQueue(t, t.TempDir(), replication.QueueOptions{MaxLag: time.Minute, Now: clock})
	appendN(t, q, 0, 5)
	now = now.Add(50 * time.Second)
	appendN(t, q, 5, 3)
	if lag := now.Sub(q.Stats().Oldest); lag != 50*time.Second {
		t.Fatalf("lag = %v, want 50s", lag)
	}
	now = now.Add(20 * time.Second) // the first five are 70s old
	wantBodies(t, readAll(t, q, 100), 5, 3)
	if st := q.Stats(); st.DroppedRequests != 5 || st.DroppedSamples != 10 {
		t.Fatalf("dropped %d requests, %d samples; want 5, 10", st.DroppedRequests, st.DroppedSamples)
	}
}

func TestQueueReadWaitsForAppend(t *testing.T) {
	q := openQueue(t, t.TempDir(), replication.QueueOptions{})
	done := make(chan []replication.Request)
	go func() {
		win, _ := q.Read(context.Background(), 10, 1<<20)
		done <- win
	}()
	appendN(t, q, 0, 1)
	if win := <-done; len(win) != 1 || string(win[0].Body) != "body-0000" {
		t.Fatalf("Read = %+v, want the one request appended", win)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Read(ctx, 10, 1<<20); err == nil {
		t.Fatal("Read on an empty queue with a cancelled context returned no error")
	}
}

// TestQueueConcurrentAppendAndRead appends from several goroutines while
// one reader drains, with little memory and small segments so that the
// reader moves between memory and disk and segments are deleted under
// it: every request is read once, in the order of its sequence number.
func TestQueueConcurrentAppendAndRead(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, replication.QueueOptions{MemoryBytes: 600, SegmentSize: 1024})
	const writers, each = 4, 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if err := q.Append(replication.Request{Samples: 1, Body: []byte(fmt.Sprintf("w%d-%04d", w, i))}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}()
	seen := map[string]bool{}
	next := map[byte]int{}
	var lastSeq uint64
	for len(seen) < writers*each {
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		win, err := q.Read(ctx, 5, 1<<20)
		cancel()
		if err != nil {
			t.Fatalf("Read after %d requests: %v", len(seen), err)
		}
		for _, r := range win {
			b := string(r.Body)
			if seen[b] {
				t.Fatalf("%s read twice", b)
			}
			if len(seen) > 0 && r.Seq <= lastSeq {
				t.Fatalf("seq %d read after %d", r.Seq, lastSeq)
			}
			seen[b], lastSeq = true, r.Seq
			if want := fmt.Sprintf("w%c-%04d", b[1], next[b[1]]); b != want {
				t.Fatalf("read %s, want %s next from its writer", b, want)
			}
			next[b[1]]++
		}
		if err := q.Ack(win); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if st := q.Stats(); st.BacklogRequests != 0 || st.BacklogBytes != 0 || st.DroppedRequests != 0 {
		t.Fatalf("stats after draining = %+v", st)
	}
	if n := segments(t, dir); n > 1 {
		t.Fatalf("%d segments left after draining, want at most the one being written", n)
	}
}

func TestQueueSurvivesDamagedSegment(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, replication.QueueOptions{SegmentSize: 256})
	appendN(t, q, 0, 30)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	// One byte of the second segment's first record flips on disk.
	path := filepath.Join(dir, "00000001")
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 20 {
		t.Fatalf("read %s: %d bytes, %v", path, len(b), err)
	}
	b[12] ^= 0xff
	if err := os.WriteFile(path, b, 0o666); err != nil {
		t.Fatal(err)
	}
	q2 := openQueue(t, dir, replication.QueueOptions{})
	got := readAll(t, q2, 4)
	if len(got) >= 30 || len(got) < 25 {
		t.Fatalf("read %d requests after damage to one, want all but the damaged one", len(got))
	}
	for i, b := range got[1:] {
		if b <= got[i] {
			t.Fatalf("requests out of order: %q after %q", b, got[i])
		}
	}
	if got[len(got)-1] != "body-0029" || got[0] != "body-0000" {
		t.Fatalf("read %q .. %q, want the first and the last", got[0], got[len(got)-1])
	}
}
