package replication_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/replication"
)

// benchSeries is the steady-state load of the peer benchmark's first
// scale (bench/peers: 100k series, 2000 samples a request, 4 senders).
const benchSeries = 100_000

// BenchmarkForwarder measures what one remote region costs a region per
// sample under a steady load, each op one round of benchSeries samples:
// CPU (user+system of the whole process, the local write included), the
// bytes written to the queue, and the lag the queue holds. "local" is the
// same load without a region; the difference is the region's cost. The
// peer only reads and acknowledges, so that its own work is not counted.
//
//	go test -run '^$' -bench Forwarder -benchtime 20x ./replication/
func BenchmarkForwarder(b *testing.B) {
	for _, tc := range []struct {
		name    string
		regions int
	}{{"local", 0}, {"one-region", 1}} {
		b.Run(tc.name, func(b *testing.B) { benchForwarder(b, tc.regions) })
	}
}

func benchForwarder(b *testing.B, regions int) {
	h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	write, err := remote.NewWriteHandler(headAppendable{h}, remote.WriteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var handler http.Handler = write
	var f *replication.Forwarder
	if regions > 0 {
		peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
		defer peer.Close()
		f, err = replication.NewForwarder(replication.ForwarderOptions{
			Region: "a", Dir: filepath.Join(b.TempDir(), "replication"),
			Regions: []replication.RegionOptions{{Name: "b", URL: peer.URL}},
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = f.Run(ctx) }()
		defer func() { cancel(); <-done; _ = f.Close() }()
		handler = f.Wrap(write)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	w, err := loadgen.Prepare(loadgen.Config{URL: srv.URL, Series: benchSeries, Rounds: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.Run(ctx, 0, 1); err != nil { // the series are created
		b.Fatal(err)
	}
	var maxLag atomic.Int64 // milliseconds
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if f != nil {
		wg.Go(func() { watchLag(f, &maxLag, stop) })
	}
	written0 := writtenBytes(f)
	cpu0 := processCPU()
	b.ResetTimer()
	res, err := w.Run(ctx, 1, b.N+1)
	b.StopTimer()
	if err != nil || res.Failed > 0 {
		b.Fatalf("load: %v, %d requests failed: %v", err, res.Failed, res.Errors)
	}
	drainStart := time.Now()
	for f != nil && f.Status()[0].BacklogRequests > 0 {
		time.Sleep(time.Millisecond)
	}
	drain := time.Since(drainStart)
	cpu := processCPU() - cpu0
	close(stop)
	wg.Wait()
	samples := float64(res.Samples)
	b.ReportMetric(float64(cpu.Nanoseconds())/samples, "cpu-ns/sample")
	b.ReportMetric(samples/res.Elapsed.Seconds(), "samples/s")
	if f != nil {
		b.ReportMetric(float64(writtenBytes(f)-written0)/samples, "queue-bytes/sample")
		b.ReportMetric(float64(maxLag.Load()), "max-lag-ms")
		b.ReportMetric(float64(drain.Milliseconds()), "drain-ms")
	}
}

func writtenBytes(f *replication.Forwarder) int64 {
	if f == nil {
		return 0
	}
	return f.Status()[0].WrittenBytes
}

// watchLag keeps the largest lag the region shows until stop is closed.
func watchLag(f *replication.Forwarder, maxLag *atomic.Int64, stop <-chan struct{}) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if ms := int64(f.Status()[0].LagSeconds * 1000); ms > maxLag.Load() {
				maxLag.Store(ms)
			}
		}
	}
}

// processCPU returns the user and system CPU time of the process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
