package head

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// benchLabels returns a realistic series with ten labels.
func benchLabels(i int) labels.Labels {
	return labels.FromStrings(
		"__name__", fmt.Sprintf("node_metric_%d_total", i%50),
		"cluster", "eu-west-1",
		"env", "production",
		"instance", fmt.Sprintf("10.0.%d.%d:9100", i/250%250, i%250),
		"job", "node",
		"mode", []string{"idle", "user", "system", "iowait"}[i%4],
		"namespace", "monitoring",
		"pod", fmt.Sprintf("node-exporter-%05d", i/200),
		"region", "eu",
		"service", "node-exporter",
	)
}

// BenchmarkAppend appends batches of 2,000 samples, one per existing series,
// as a remote-write request does, and reports samples per second: by
// labels, by ref, and by label pairs (LookupPairs, then the ref).
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		byRef, byPairs bool
		fsync          wal.FsyncPolicy
	}{{false, false, wal.FsyncInterval}, {true, false, wal.FsyncInterval}, {false, true, wal.FsyncInterval}, {false, false, wal.FsyncAlways}} {
		byRef := c.byRef
		name := fmt.Sprintf("by_ref=%v/fsync=%v", byRef, c.fsync)
		if c.byPairs {
			name = fmt.Sprintf("by_pairs=true/fsync=%v", c.fsync)
		}
		b.Run(name, func(b *testing.B) {
			const batch = 2000
			h := openTest(b, func(o *Options) { o.Stripes = DefaultStripes; o.WAL.Fsync = c.fsync })
			lsets := make([]labels.Labels, batch)
			pairs := make([][]labels.Label, batch)
			refs := make([]model.SeriesRef, batch)
			app := h.Appender()
			for i := range lsets {
				lsets[i] = benchLabels(i)
				pairs[i] = pairsOf(lsets[i])
				var err error
				refs[i], err = app.Append(0, lsets[i], 0, 0)
				require.NoError(b, err)
			}
			require.NoError(b, app.Commit())
			b.ReportAllocs()
			b.ResetTimer()
			ts := int64(0)
			for b.Loop() {
				ts += 15_000
				for i := range lsets {
					ref := model.SeriesRef(0)
					switch {
					case byRef:
						ref = refs[i]
					case c.byPairs:
						// As the write handler finds an existing series.
						ref = app.LookupPairs(pairs[i])
					}
					if _, err := app.Append(ref, lsets[i], ts, float64(ts)*0.25+float64(i)); err != nil {
						b.Fatal(err)
					}
				}
				if err := app.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			n := float64(b.N * batch)
			b.ReportMetric(n/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/sample")
		})
	}
}

// BenchmarkSeriesMemory creates series with ten labels and one sample each
// and reports the heap they take beyond their chunk bytes.
func BenchmarkSeriesMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		h := openTest(b, func(o *Options) { o.Stripes = DefaultStripes })
		app := h.Appender()
		for i := range n {
			if _, err := app.Append(0, benchLabels(i), 1000, float64(i)); err != nil {
				b.Fatal(err)
			}
			if i%2000 == 1999 {
				require.NoError(b, app.Commit())
			}
		}
		require.NoError(b, app.Commit())
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := h.Stats()
		heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		b.ReportMetric((heap-float64(st.ChunkBytes))/n, "heap-bytes/series")
		b.ReportMetric(float64(st.ChunkBytes)/n, "chunk-bytes/series")
		runtime.KeepAlive(h)
		require.NoError(b, h.Close())
		b.StartTimer()
	}
}

// BenchmarkReplay measures start-up: replaying a WAL of samples.
func BenchmarkReplay(b *testing.B) {
	const seriesN, perSeries = 5_000, 480 // two hours at a 15s scrape: what a WAL holds between checkpoints
	dir := b.TempDir()
	h, err := Open(Options{Dir: dir, MaintenanceInterval: -1})
	require.NoError(b, err)
	for ts := int64(0); ts < perSeries; ts++ {
		app := h.Appender()
		for i := range seriesN {
			_, err := app.Append(0, benchLabels(i), ts*15_000, float64(ts*int64(i)))
			require.NoError(b, err)
		}
		require.NoError(b, app.Commit())
	}
	require.NoError(b, h.Close())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h, err := Open(Options{Dir: dir, MaintenanceInterval: -1})
		require.NoError(b, err)
		b.StopTimer()
		require.NoError(b, h.Close())
		b.StartTimer()
	}
	n := float64(b.N * seriesN * perSeries)
	b.ReportMetric(n/b.Elapsed().Seconds(), "samples/s")
}

// capturePath is the slice of a real Prometheus's remote write kept in the
// repository (testdata/capture/README.md).
const capturePath = "../testdata/capture/prometheus-2.42-node-300req.rw"

// loadCapture decodes the capture into write requests.
func loadCapture(b *testing.B) []*prompb.WriteRequest {
	f, err := os.Open(capturePath)
	require.NoError(b, err)
	defer f.Close()
	var reqs []*prompb.WriteRequest
	cr := model.NewCaptureReader(f)
	for {
		body, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return reqs
		}
		require.NoError(b, err)
		raw, err := snappy.Decode(nil, body)
		require.NoError(b, err)
		var req prompb.WriteRequest
		require.NoError(b, req.Unmarshal(raw))
		reqs = append(reqs, &req)
	}
}

// BenchmarkCapture ingests the real capture and reports the chunk bytes per
// sample the head reaches on it.
func BenchmarkCapture(b *testing.B) {
	reqs := loadCapture(b)
	var lsets [][]labels.Labels
	for _, r := range reqs {
		ls := make([]labels.Labels, len(r.Timeseries))
		for i, ts := range r.Timeseries {
			var sb labels.ScratchBuilder
			for _, l := range ts.Labels {
				sb.Add(l.Name, l.Value)
			}
			sb.Sort()
			ls[i] = sb.Labels()
		}
		lsets = append(lsets, ls)
	}
	var st Stats
	samples := 0
	start := time.Now()
	for b.Loop() {
		h := openTest(b, nil)
		app := h.Appender()
		for ri, r := range reqs {
			for i, ts := range r.Timeseries {
				for _, s := range ts.Samples {
					if _, err := app.Append(0, lsets[ri][i], s.Timestamp, s.Value); err != nil {
						b.Fatal(err)
					}
				}
			}
			require.NoError(b, app.Commit())
		}
		st = h.Stats()
		samples += st.Samples
		require.NoError(b, h.Close())
	}
	b.ReportMetric(st.BytesPerSample, "chunk-bytes/sample")
	b.ReportMetric(float64(samples)/time.Since(start).Seconds(), "samples/s")
}
