package head

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// walLoad is the load of the peer harness at its 100k scale: 100k series of
// the load generator, 20 rounds 15 s apart, committed 2,000 samples at a
// time.
const (
	walLoadSeries = 100_000
	walLoadRounds = 20
	walLoadBatch  = 2000
)

// cpuTime returns the CPU time the process has used, user and system, GC
// included: on a shared machine wall time says more about the neighbours.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeWALLoad appends the harness-like load to h and returns the CPU time
// the appends and commits took.
func writeWALLoad(b *testing.B, h *Head, lsets []labels.Labels) time.Duration {
	start := cpuTime(b)
	refs := make([]model.SeriesRef, len(lsets))
	for r := range walLoadRounds {
		t := int64(1_700_000_000_000 + r*15_000)
		for from := 0; from < len(lsets); from += walLoadBatch {
			app := h.Appender()
			for i := from; i < min(from+walLoadBatch, len(lsets)); i++ {
				ref, err := app.Append(refs[i], lsets[i], t, loadgen.SeriesValue(i, r))
				if err != nil {
					b.Fatal(err)
				}
				refs[i] = ref
			}
			if err := app.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	return cpuTime(b) - start
}

// dirBytes returns the total size of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	require.NoError(b, err)
	return n
}

// BenchmarkWALBytes writes the harness-like load under each WAL compression
// and reports the WAL bytes per sample, the CPU time of the writes per
// sample, and the CPU and wall time per sample of the replay when the head
// is opened on that WAL again (replay runs in parallel: the wall time is
// the restart time).
func BenchmarkWALBytes(b *testing.B) {
	lsets := make([]labels.Labels, walLoadSeries)
	for i := range lsets {
		lsets[i] = loadgen.SeriesLabels(i)
	}
	samples := float64(walLoadSeries * walLoadRounds)
	for _, name := range []string{"none", "snappy", "zstd"} {
		b.Run("compression="+name, func(b *testing.B) {
			codec, err := WALCodec(name)
			require.NoError(b, err)
			var write, replay, replayWall time.Duration
			var bytes int64
			for b.Loop() {
				dir := b.TempDir()
				opts := Options{Dir: dir, MaintenanceInterval: -1}
				opts.WAL.Compression = codec
				h, err := Open(opts)
				require.NoError(b, err)
				write += writeWALLoad(b, h, lsets)
				require.NoError(b, h.Close())
				bytes += dirBytes(b, filepath.Join(dir, "wal"))
				start, wall := cpuTime(b), time.Now()
				h, err = Open(opts)
				require.NoError(b, err)
				replay += cpuTime(b) - start
				replayWall += time.Since(wall)
				require.Equal(b, walLoadSeries, int(h.Stats().Series))
				require.NoError(b, h.Close())
			}
			n := float64(b.N) * samples
			b.ReportMetric(float64(bytes)/n, "wal-bytes/sample")
			b.ReportMetric(float64(write.Nanoseconds())/n, "write-cpu-ns/sample")
			b.ReportMetric(float64(replay.Nanoseconds())/n, "replay-cpu-ns/sample")
			b.ReportMetric(float64(replayWall.Nanoseconds())/n, "replay-ns/sample")
		})
	}
}
