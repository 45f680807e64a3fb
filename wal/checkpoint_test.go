package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replay reads a WAL directory the way the head does: the newest
// checkpoint, then the segments after it.
func replay(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	read := func(r *Reader) {
		defer r.Close()
		for r.Next() {
			out = append(out, string(r.Record()))
		}
		if err := r.Err(); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	path, upTo, err := LastCheckpoint(dir)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		upTo = -1
	case err != nil:
		t.Fatal(err)
	default:
		r, err := NewCheckpointReader(path)
		if err != nil {
			t.Fatal(err)
		}
		read(r)
	}
	r, err := NewReader(dir, upTo+1, -1)
	if err != nil {
		t.Fatalf("NewReader(%d, -1): %v", upTo+1, err)
	}
	read(r)
	return out
}

// checkpointState builds a WAL with records a0..a2 in segment 0, b0..b2 in
// segment 1 and c0 in segment 2, and returns a write function that
// checkpoints segments 0..1 as the single record "cp(a,b)".
func checkpointState(t *testing.T, dir string) (*WAL, func(log func([]byte) error) error) {
	t.Helper()
	w := mustOpen(t, dir, Options{})
	for i, p := range []string{"a", "b"} {
		for j := range 3 {
			if err := w.Log([]byte(fmt.Sprintf("%s%d", p, j))); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := w.Cut(); err != nil || n != i+1 {
			t.Fatalf("Cut() = %d, %v", n, err)
		}
	}
	if err := w.Log([]byte("c0")); err != nil {
		t.Fatal(err)
	}
	return w, func(log func([]byte) error) error { return log([]byte("cp(a,b)")) }
}

func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	w, write := checkpointState(t, dir)
	var logs logBuffer
	if err := Checkpoint(dir, 1, write, logs.logger()); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(replay(t, dir), " "), "cp(a,b) c0"; got != want {
		t.Fatalf("replay = %q, want %q", got, want)
	}
	if first, _, _ := w.Segments(); first != 2 {
		t.Fatalf("first segment %d after checkpoint, want 2", first)
	}
	if !strings.Contains(logs.String(), "deleted WAL segments") {
		t.Fatalf("deletion not logged: %s", logs.String())
	}
	// A second checkpoint replaces the first.
	if err := w.Log([]byte("c1")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Cut(); err != nil {
		t.Fatal(err)
	}
	if err := Checkpoint(dir, 2, func(log func([]byte) error) error {
		return errors.Join(log([]byte("cp(a,b)")), log([]byte("cp(c)")))
	}, nil); err != nil {
		t.Fatal(err)
	}
	path, upTo, err := LastCheckpoint(dir)
	if err != nil || upTo != 2 || filepath.Base(path) != "checkpoint.00000002" {
		t.Fatalf("LastCheckpoint() = %q, %d, %v", path, upTo, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint.00000001")); !os.IsNotExist(err) {
		t.Fatalf("old checkpoint still present: %v", err)
	}
	if got, want := strings.Join(replay(t, dir), " "), "cp(a,b) cp(c)"; got != want {
		t.Fatalf("replay = %q, want %q", got, want)
	}
	if err := Checkpoint(dir, 2, write, nil); err == nil {
		t.Fatal("checkpoint up to an already checkpointed segment succeeded")
	}
}

func TestCheckpointWriteError(t *testing.T) {
	dir := t.TempDir()
	checkpointState(t, dir)
	boom := errors.New("boom")
	err := Checkpoint(dir, 1, func(log func([]byte) error) error {
		if err := log([]byte("partial")); err != nil {
			return err
		}
		return boom
	}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if got, want := strings.Join(replay(t, dir), " "), "a0 a1 a2 b0 b1 b2 c0"; got != want {
		t.Fatalf("replay = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint.00000001.tmp")); !os.IsNotExist(err) {
		t.Fatalf("tmp dir left behind: %v", err)
	}
}

// TestCheckpointCrashSafety rebuilds the directory a crash would leave after
// each step of Checkpoint and checks that replay, before and after Open,
// yields the same records.
func TestCheckpointCrashSafety(t *testing.T) {
	steps := []struct {
		name  string
		crash func(t *testing.T, dir string, write func(func([]byte) error) error)
		want  string
	}{
		{"tmp dir half written", func(t *testing.T, dir string, write func(func([]byte) error) error) {
			tmp := filepath.Join(dir, "checkpoint.00000001.tmp")
			if err := writeCheckpointDir(tmp, write, nil); err != nil {
				t.Fatal(err)
			}
			// Tear the checkpoint's only segment too: a .tmp is never read.
			if err := os.Truncate(filepath.Join(tmp, segmentName(0)), 3); err != nil {
				t.Fatal(err)
			}
		}, "a0 a1 a2 b0 b1 b2 c0"},
		{"renamed, segments not deleted", func(t *testing.T, dir string, write func(func([]byte) error) error) {
			if err := writeCheckpointDir(filepath.Join(dir, "checkpoint.00000001"), write, nil); err != nil {
				t.Fatal(err)
			}
		}, "cp(a,b) c0"},
		{"some segments deleted", func(t *testing.T, dir string, write func(func([]byte) error) error) {
			if err := writeCheckpointDir(filepath.Join(dir, "checkpoint.00000001"), write, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(segmentPath(dir, 0)); err != nil {
				t.Fatal(err)
			}
		}, "cp(a,b) c0"},
		{"old checkpoint not deleted", func(t *testing.T, dir string, write func(func([]byte) error) error) {
			if err := writeCheckpointDir(filepath.Join(dir, "checkpoint.00000000"), func(log func([]byte) error) error {
				return log([]byte("old"))
			}, nil); err != nil {
				t.Fatal(err)
			}
			if err := writeCheckpointDir(filepath.Join(dir, "checkpoint.00000001"), write, nil); err != nil {
				t.Fatal(err)
			}
		}, "cp(a,b) c0"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			w, write := checkpointState(t, dir)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			s.crash(t, dir, write)
			if got := strings.Join(replay(t, dir), " "); got != s.want {
				t.Fatalf("replay before Open = %q, want %q", got, s.want)
			}
			w2 := mustOpen(t, dir, Options{})
			if got := strings.Join(replay(t, dir), " "); got != s.want {
				t.Fatalf("replay after Open = %q, want %q", got, s.want)
			}
			cps, err := listCheckpoints(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(cps) > 1 || (len(cps) == 1 && cps[0].tmp) {
				t.Fatalf("Open left checkpoints %+v", cps)
			}
			if first, _, _ := w2.Segments(); len(cps) == 1 && first <= cps[0].upTo {
				t.Fatalf("Open left segment %d covered by checkpoint %d", first, cps[0].upTo)
			}
		})
	}
}

// TestOpenAfterCheckpointWithoutSegments covers a directory whose segments
// were all covered by the checkpoint: new records must go after it.
func TestOpenAfterCheckpointWithoutSegments(t *testing.T) {
	dir := t.TempDir()
	w, write := checkpointState(t, dir)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Checkpoint(dir, 2, write, nil); err != nil {
		t.Fatal(err)
	}
	w2 := mustOpen(t, dir, Options{})
	if got := w2.Stats().Segment; got != 3 {
		t.Fatalf("writing segment %d, want 3", got)
	}
	if err := w2.Log([]byte("d0")); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(replay(t, dir), " "), "cp(a,b) d0"; got != want {
		t.Fatalf("replay = %q, want %q", got, want)
	}
}

func TestLastCheckpointNone(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "checkpoint.00000004.tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LastCheckpoint(dir); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("got %v, want ErrNoCheckpoint", err)
	}
}
