package head

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory and unmounts
// it at the end of the test. Without root, or where mounting fails, the
// test is skipped, except in CI (CI=true), where it must run.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	skip := func(msg string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if os.Geteuid() != 0 {
		skip("a full-disk test mounts a tmpfs and needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		skip(fmt.Sprintf("mount tmpfs on %s: %v", dir, err))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes path until the file system is full and returns the bytes
// written.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	var n int64
	buf := make([]byte, 4096)
	for {
		m, err := f.Write(buf)
		n += int64(m)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		}
		require.NoError(t, err)
	}
}

// TestFullDiskRecovers runs the head on a real file system that fills up:
// commits fail with model.ErrUnavailable while it is full, the head recovers by
// itself once space is freed, and after a restart every acknowledged
// sample is there.
func TestFullDiskRecovers(t *testing.T) {
	dir := mountTmpfs(t, 4<<20)
	reg := prometheus.NewRegistry()
	opts := Options{Dir: dir, MaintenanceInterval: -1, Stripes: 16, Registerer: reg}
	h, err := Open(opts)
	require.NoError(t, err)
	defer func() { _ = h.Close() }()

	lset := series("disk", "job", "full")
	var acked []model.Sample
	ts := int64(0)
	commit := func() error {
		app := h.Appender()
		var batch []model.Sample
		for range 50 {
			_, err := app.Append(0, lset, ts, float64(ts)/3)
			require.NoError(t, err)
			batch = append(batch, model.Sample{T: ts, V: float64(ts) / 3})
			ts += 1000
		}
		err := app.Commit()
		if err == nil {
			acked = append(acked, batch...)
		}
		return err
	}
	for range 20 {
		require.NoError(t, commit())
	}

	filler := filepath.Join(dir, "filler")
	t.Logf("filled the disk with %d bytes", fillDisk(t, filler))
	// The segment's last page may still hold a few records: the disk is
	// full once they have filled it.
	err = commit()
	for i := 0; err == nil && i < 64; i++ {
		err = commit()
	}
	require.ErrorIs(t, err, model.ErrUnavailable)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorIs(t, commit(), model.ErrUnavailable, "refused while the disk is full")
	require.ErrorIs(t, h.WALError(), model.ErrUnavailable)
	require.Equal(t, 1.0, gauge(t, reg, "gorilla_wal_unavailable"))

	require.NoError(t, os.Remove(filler))
	eventually(t, "the WAL to recover", func() bool { return h.WALError() == nil })
	require.Zero(t, gauge(t, reg, "gorilla_wal_unavailable"))
	for range 20 {
		require.NoError(t, commit())
	}
	require.NoError(t, h.Close())

	h, err = Open(opts)
	require.NoError(t, err)
	requireSamples(t, acked, mustRange(t, h, lset))
	require.NoError(t, h.Close())
}
