package head

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// faultyDisk is a wal.Options.CreateFile whose files fail on demand: while
// full, writes store half their bytes and fail with ENOSPC; while
// syncFails, fsyncs fail with EIO.
type faultyDisk struct {
	full, syncFails atomic.Bool
}

func (d *faultyDisk) create(path string) (wal.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: f, d: d}, nil
}

type faultyFile struct {
	*os.File
	d *faultyDisk
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.d.full.Load() {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

func (f *faultyFile) Sync() error {
	if f.d.syncFails.Load() {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
	}
	return f.File.Sync()
}

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lockedBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// eventually waits, without a deadline tighter than a minute, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// gauge returns the value of the unlabelled metric name in reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestCommitUnavailableWhileWALFails: while the WAL cannot write, commits
// fail with model.ErrUnavailable, WALError and the gauge say so; once the disk
// takes data again the head recovers by itself and commits succeed.
func TestCommitUnavailableWhileWALFails(t *testing.T) {
	var disk faultyDisk
	reg := prometheus.NewRegistry()
	h := openTest(t, func(o *Options) {
		o.WAL.CreateFile = disk.create
		o.Registerer = reg
	})
	lset := series("up")
	var acked []model.Sample
	for ts := int64(0); ts < 5; ts++ {
		require.NoError(t, h.Append(lset, ts, 1))
		acked = append(acked, model.Sample{T: ts, V: 1})
	}
	require.NoError(t, h.WALError())
	require.Zero(t, gauge(t, reg, "gorilla_wal_unavailable"))

	disk.full.Store(true)
	err := h.Append(lset, 10, 1)
	require.ErrorIs(t, err, model.ErrUnavailable)
	require.ErrorIs(t, err, wal.ErrUnavailable)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorIs(t, h.Append(lset, 11, 1), model.ErrUnavailable)
	require.ErrorIs(t, h.WALError(), model.ErrUnavailable)
	require.Equal(t, 1.0, gauge(t, reg, "gorilla_wal_unavailable"))
	require.Equal(t, 1.0, gauge(t, reg, "gorilla_wal_failures_total"))

	disk.full.Store(false)
	eventually(t, "the WAL to recover", func() bool { return h.WALError() == nil })
	require.Zero(t, gauge(t, reg, "gorilla_wal_unavailable"))
	require.Equal(t, 1.0, gauge(t, reg, "gorilla_wal_recoveries_total"))
	for ts := int64(20); ts < 25; ts++ {
		require.NoError(t, h.Append(lset, ts, 2))
		acked = append(acked, model.Sample{T: ts, V: 2})
	}
	h = reopen(t, h)
	requireSamples(t, acked, mustRange(t, h, lset))
}

// TestFsyncFailureCheckpointsFromMemory fails an fsync under the interval
// policy. Recovery cuts the records acknowledged since the last good fsync
// out of the WAL, as the disk may have dropped them, so the head must write
// a checkpoint from memory: after a restart every acknowledged sample is
// there.
func TestFsyncFailureCheckpointsFromMemory(t *testing.T) {
	var disk faultyDisk
	var logs lockedBuffer
	h := openTest(t, func(o *Options) {
		o.WAL = wal.Options{CreateFile: disk.create, FsyncInterval: time.Hour}
		o.Logger = logs.logger()
	})
	lset := series("fsync")
	var acked []model.Sample
	for ts := int64(0); ts < 10; ts++ {
		require.NoError(t, h.Append(lset, ts, float64(ts)))
		acked = append(acked, model.Sample{T: ts, V: float64(ts)})
		if ts == 4 {
			require.NoError(t, h.wal.Sync())
		}
	}
	disk.syncFails.Store(true)
	require.ErrorIs(t, h.wal.Sync(), wal.ErrUnavailable)
	require.ErrorIs(t, h.Append(lset, 100, 1), model.ErrUnavailable)
	disk.syncFails.Store(false)

	eventually(t, "the WAL to recover", func() bool { return h.WALError() == nil })
	require.NoError(t, h.Append(lset, 20, 20))
	acked = append(acked, model.Sample{T: 20, V: 20})
	// Close waits for the checkpoint that follows the recovery.
	h = reopen(t, h)
	requireSamples(t, acked, mustRange(t, h, lset))
	require.Contains(t, logs.String(), "acked_bytes_cut=")
	_, _, err := wal.LastCheckpoint(filepath.Join(h.opts.Dir, "wal"))
	require.NoError(t, err, "a checkpoint was written")
}

// TestWALErrorAfterClose: a closed head reports model.ErrClosed, not a failure.
func TestWALErrorAfterClose(t *testing.T) {
	h := openTest(t, nil)
	require.NoError(t, h.Close())
	require.True(t, errors.Is(h.WALError(), model.ErrClosed), "got %v", h.WALError())
}
