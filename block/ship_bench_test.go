package block_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// BenchmarkSealAndUpload measures one window going from memory to the
// bucket: sealing, writing the block, uploading it to a filesystem bucket
// and checkpointing the WAL, for 2,000 series of 480 samples (15s over 2h,
// about a million samples).
//
//	go test -run='^$' -bench=SealAndUpload -benchtime=5x ./block/
func BenchmarkSealAndUpload(b *testing.B) {
	const series, step = 2000, 15_000
	bd := win.Milliseconds()
	var samples int
	for b.Loop() {
		b.StopTimer()
		h, err := head.Open(head.Options{Dir: b.TempDir(), MaintenanceInterval: -1, Shipping: true})
		require.NoError(b, err)
		app := h.Appender()
		samples = 0
		for i := range series {
			lset := labels.FromStrings("__name__", "http_requests_total", "instance", "host-"+strconv.Itoa(i%100), "handler", "/h"+strconv.Itoa(i/100))
			v := 0.0
			for ts := int64(0); ts < bd; ts += step {
				v += float64(i%5 + 1)
				_, err := app.Append(0, lset, ts, v)
				require.NoError(b, err)
				samples++
			}
		}
		// One sample past the out-of-order window closes the window.
		_, err = app.Append(0, labels.FromStrings("__name__", "clock"), bd+ooo.Milliseconds(), 1)
		require.NoError(b, err)
		require.NoError(b, app.Commit())
		bkt, err := filesystem.NewBucket(b.TempDir())
		require.NoError(b, err)
		sh, err := block.NewShipper(block.ShipperOptions{
			Source: h, Bucket: bkt, Dir: filepath.Join(b.TempDir(), "blocks"),
		})
		require.NoError(b, err)
		b.StartTimer()
		require.NoError(b, sh.Once(context.Background()))
		b.StopTimer()
		sh.Close()
		require.NoError(b, h.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/(float64(samples)/1e6), "ms/Msamples")
}

// captureFile is the slice of a real Prometheus's remote write kept in the
// repository (testdata/capture/README.md).
const captureFile = "../testdata/capture/prometheus-2.42-node-300req.rw"

// captureSamples is the number of float samples in captureFile.
const captureSamples = 148_500

// captureSeries is one series of the capture with its samples.
type captureSeries struct {
	lset    labels.Labels
	samples []model.Sample
}

// loadCapture decodes every sample of the capture, grouped by series.
func loadCapture(tb testing.TB) map[string]*captureSeries {
	tb.Helper()
	f, err := os.Open(captureFile)
	require.NoError(tb, err)
	defer f.Close()
	out := map[string]*captureSeries{}
	r := model.NewCaptureReader(f)
	for {
		body, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(tb, err)
		raw, err := snappy.Decode(nil, body)
		require.NoError(tb, err)
		var req prompb.WriteRequest
		require.NoError(tb, req.Unmarshal(raw))
		for _, ts := range req.Timeseries {
			b := labels.NewScratchBuilder(len(ts.Labels))
			for _, l := range ts.Labels {
				b.Add(l.Name, l.Value)
			}
			b.Sort()
			lset := b.Labels()
			s := out[lset.String()]
			if s == nil {
				s = &captureSeries{lset: lset}
				out[lset.String()] = s
			}
			for _, smp := range ts.Samples {
				s.samples = append(s.samples, model.Sample{T: smp.Timestamp, V: smp.Value})
			}
		}
	}
}

func dirBytes(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	require.NoError(tb, filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return err
	}))
	return n
}

// BenchmarkCaptureBlockBytes writes the shared capture (ten minutes of a
// real Prometheus's node_exporter and self metrics) as a block of ours and
// as a block of Prometheus's own TSDB, and reports the bytes per sample of
// each on disk, index and meta.json included.
//
//	go test -run='^$' -bench=CaptureBlockBytes -benchtime=1x ./block/
func BenchmarkCaptureBlockBytes(b *testing.B) {
	capture := loadCapture(b)
	for b.Loop() {
		ours, prom, samples := captureBlocks(b, capture)
		b.ReportMetric(float64(ours)/float64(samples), "bytes/sample")
		b.ReportMetric(float64(prom)/float64(samples), "prometheus-bytes/sample")
		b.ReportMetric(float64(ours)/float64(prom), "ratio")
	}
}

// captureBlocks returns the block sizes of ours and Prometheus's for the
// capture, and its sample count.
func captureBlocks(tb testing.TB, capture map[string]*captureSeries) (ours, prom int64, samples int) {
	tb.Helper()
	h, err := head.Open(head.Options{Dir: tb.TempDir(), MaintenanceInterval: -1, Retention: 1000 * time.Hour})
	require.NoError(tb, err)
	defer h.Close()
	db, err := tsdb.Open(tb.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	require.NoError(tb, err)
	defer db.Close()
	db.DisableCompactions()
	app, papp := h.Appender(), db.Appender(context.Background())
	for _, s := range capture {
		for _, smp := range s.samples {
			// Retried requests repeat samples; each is stored once.
			if _, err := app.Append(0, s.lset, smp.T, smp.V); err == nil {
				_, err = papp.Append(0, s.lset, smp.T, smp.V)
				require.NoError(tb, err)
				samples++
			}
		}
	}
	require.NoError(tb, app.Commit())
	require.NoError(tb, papp.Commit())

	mint, maxt := db.Head().MinTime(), db.Head().MaxTime()
	bd := win.Milliseconds()
	ourDir := tb.TempDir()
	for ws := mint / bd * bd; ws <= maxt; ws += bd {
		series, err := h.WindowSeries(context.Background(), ws, ws+bd-1)
		require.NoError(tb, err)
		if len(series) == 0 {
			continue
		}
		_, err = block.Write(context.Background(), ourDir, ws, ws+bd, series, block.WriteOptions{})
		require.NoError(tb, err)
	}
	// Prometheus cuts its head into a block per 2h window the same way.
	promDir := tb.TempDir()
	for ws := mint / bd * bd; ws <= maxt; ws += bd {
		comp, err := tsdb.NewLeveledCompactor(context.Background(), nil, nil, tsdb.ExponentialBlockRanges(bd, 3, 5), nil, nil)
		require.NoError(tb, err)
		_, err = comp.Write(promDir, tsdb.NewRangeHead(db.Head(), ws, ws+bd-1), ws, ws+bd, nil)
		require.NoError(tb, err)
	}
	return dirBytes(tb, ourDir), dirBytes(tb, promDir), samples
}

// TestCaptureBlockSmallerThanPrometheus: our block of the capture is no
// larger than Prometheus's of the same samples (its chunks hold at most
// 120 samples; ours span the window).
func TestCaptureBlockSmallerThanPrometheus(t *testing.T) {
	ours, prom, samples := captureBlocks(t, loadCapture(t))
	require.Equal(t, captureSamples, samples)
	t.Logf("capture: %d samples; our block %d bytes (%.3f B/sample), Prometheus's %d bytes (%.3f B/sample)",
		samples, ours, float64(ours)/float64(samples), prom, float64(prom)/float64(samples))
	require.LessOrEqual(t, ours, prom)
}
