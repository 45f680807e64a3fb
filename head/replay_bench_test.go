//go:build unix

package head

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// BenchmarkReplaySeries measures start-up on a WAL shaped like the peer
// harness' restart figure: many series with few samples each (200k series
// of ten labels, six rounds), written by four concurrent senders in commits
// of 2,000 samples, so series and samples records interleave as they do in
// production. Most of the time goes to creating series.
func BenchmarkReplaySeries(b *testing.B) {
	for _, n := range []int{200_000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) { benchReplaySeries(b, n, 6) })
	}
}

func benchReplaySeries(b *testing.B, seriesN, rounds int) {
	const senders, perCommit = 4, 2000
	dir := b.TempDir()
	h, err := Open(Options{Dir: dir, MaintenanceInterval: -1})
	require.NoError(b, err)
	lsets := make([]labels.Labels, seriesN)
	for i := range lsets {
		lsets[i] = benchLabels(i)
	}
	for r := range rounds {
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				app := h.Appender()
				n := 0
				for i := s; i < seriesN; i += senders {
					if _, err := app.Append(0, lsets[i], int64(r)*15_000, float64(r*i)); err != nil {
						b.Error(err)
						return
					}
					if n++; n%perCommit == 0 {
						if err := app.Commit(); err != nil {
							b.Error(err)
							return
						}
						app = h.Appender()
					}
				}
				if err := app.Commit(); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	require.NoError(b, h.Close())
	b.ReportAllocs()
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		c0 := processCPU(b)
		h, err := Open(Options{Dir: dir, MaintenanceInterval: -1})
		require.NoError(b, err)
		cpu += processCPU(b) - c0
		b.StopTimer()
		require.Equal(b, seriesN, h.Stats().Series)
		require.NoError(b, h.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*seriesN)/b.Elapsed().Seconds(), "series/s")
	b.ReportMetric(float64(b.N*seriesN*rounds)/b.Elapsed().Seconds(), "samples/s")
	// The CPU a replay takes, on every core: on a busy machine a steadier
	// figure than the time, which depends on the cores it gets.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
