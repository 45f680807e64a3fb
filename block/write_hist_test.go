package block

import (
	"context"
	"encoding/hex"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// histChunk encodes n integer histograms (or float ones) from t0 every 15s.
func histChunk(t *testing.T, float bool, t0 int64, n int) model.HistogramChunk {
	t.Helper()
	var c pchunkenc.Chunk = pchunkenc.NewHistogramChunk()
	if float {
		c = pchunkenc.NewFloatHistogramChunk()
	}
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		h := &histogram.Histogram{Schema: 1, Count: uint64(2 * (i + 1)), Sum: float64(i),
			PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []int64{int64(i + 1), 0}}
		var nc pchunkenc.Chunk
		if float {
			nc, _, app, err = app.AppendFloatHistogram(nil, 0, t0+int64(i)*15000, h.ToFloat(nil), false)
		} else {
			nc, _, app, err = app.AppendHistogram(nil, 0, t0+int64(i)*15000, h, false)
		}
		if err != nil || nc != nil {
			t.Fatalf("append histogram %d: %v (new chunk %v)", i, err, nc != nil)
		}
	}
	return model.HistogramChunk{MinT: t0, MaxT: t0 + int64(n-1)*15000, Float: float, Data: c.Bytes()}
}

// TestBlockHistogramChunks writes a block holding XOR, histogram and float
// histogram chunks and reads them back byte for byte; promtool (when
// installed) analyzes it.
func TestBlockHistogramChunks(t *testing.T) {
	dir := t.TempDir()
	half := testMint + (testMaxt-testMint)/2
	floats := genSeries(t, rand.New(rand.NewSource(3)), 1, testMint, half, 15000, 1)[0]
	series := []model.ChunkSeries{
		{Labels: labels.FromStrings("__name__", "a_mixed"), Chunks: floats.Chunks,
			Histograms: []model.HistogramChunk{histChunk(t, false, half+7, 10)}},
		{Labels: labels.FromStrings("__name__", "b_float_hist"),
			Histograms: []model.HistogramChunk{histChunk(t, true, testMint, 5), histChunk(t, true, testMint+100_000, 5)}},
	}
	m, err := Write(context.Background(), dir, testMint, testMaxt+1, series, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.NumSeries != 2 || m.Stats.NumHistogramSamples != 20 || m.Stats.NumChunks != uint64(len(floats.Chunks))+3 {
		t.Fatalf("stats: got %+v, want 2 series, 20 histogram samples, %d chunks", m.Stats, len(floats.Chunks)+3)
	}
	b, err := Open(filepath.Join(dir, m.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Select(context.Background(), testMint, testMaxt, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d series, want 2", len(got))
	}
	for i, s := range got {
		if len(s.Chunks) != len(series[i].Chunks) || len(s.Histograms) != len(series[i].Histograms) {
			t.Fatalf("%s: read %d float and %d histogram chunks, want %d and %d", s.Labels, len(s.Chunks), len(s.Histograms), len(series[i].Chunks), len(series[i].Histograms))
		}
		for j, c := range s.Histograms {
			w := series[i].Histograms[j]
			if c.MinT != w.MinT || c.MaxT != w.MaxT || c.Float != w.Float || hex.EncodeToString(c.Data) != hex.EncodeToString(w.Data) {
				t.Fatalf("%s histogram chunk %d: read [%d, %d] float=%v, want [%d, %d] float=%v, same bytes", s.Labels, j, c.MinT, c.MaxT, c.Float, w.MinT, w.MaxT, w.Float)
			}
		}
	}

	t.Run("Prometheus's TSDB", func(t *testing.T) { prometheusReadsHistograms(t, filepath.Join(dir, m.ULID.String())) })
	t.Run("promtool", func(t *testing.T) {
		tool := histPromtool(t)
		out, err := exec.Command(tool, "tsdb", "analyze", dir, m.ULID.String()).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool tsdb analyze: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "Series: 2") {
			t.Fatalf("analyze output lacks the series count:\n%s", out)
		}
	})
}

// TestBlockRecutsInterleavedTypes: a series that switched between floats
// and histograms inside one chunk's range (the index refuses overlapping
// chunks) is written as chunks of one type each, every sample kept.
func TestBlockRecutsInterleavedTypes(t *testing.T) {
	dir := t.TempDir()
	floats := genSeries(t, rand.New(rand.NewSource(3)), 1, testMint, testMint+150_000, 15000, 1)[0]
	hists := histChunk(t, false, testMint+7, 10)
	series := []model.ChunkSeries{{Labels: labels.FromStrings("__name__", "x"), Chunks: floats.Chunks, Histograms: []model.HistogramChunk{hists}}}
	m, err := Write(context.Background(), dir, testMint, testMaxt+1, series, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(filepath.Join(dir, m.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Select(context.Background(), testMint, testMaxt, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	if err != nil || len(got) != 1 {
		t.Fatalf("select: %v, %d series", err, len(got))
	}
	var times []int64
	for _, c := range got[0].Chunks {
		it := chunkenc.NewIterator(c.Data)
		for it.Next() {
			ts, _ := it.At()
			times = append(times, ts)
		}
	}
	nFloats := len(times)
	for _, c := range got[0].Histograms {
		chk, err := pchunkenc.FromData(histEncoding(c), c.Data)
		if err != nil {
			t.Fatal(err)
		}
		it := chk.Iterator(nil)
		for it.Next() == pchunkenc.ValHistogram {
			times = append(times, it.AtT())
		}
	}
	if nFloats != 10 || len(times) != 20 {
		t.Fatalf("read %d floats and %d histograms, want 10 and 10", nFloats, len(times)-nFloats)
	}
	if len(got[0].Chunks) < 2 || len(got[0].Histograms) < 2 {
		t.Fatalf("got %d float and %d histogram chunks, want the interleaved runs cut apart", len(got[0].Chunks), len(got[0].Histograms))
	}
}

// histPromtool returns Prometheus 3.16's promtool when make e2e-deps
// installed it, else the one on PATH (see promtool).
func histPromtool(t *testing.T) string {
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "prometheus-3.16", "bin", "promtool")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return promtool(t)
}

// prometheusReadsHistograms opens the block with the prometheus module's
// TSDB (the code of Prometheus 3.16) and reads every histogram back.
func prometheusReadsHistograms(t *testing.T, dir string) {
	pb, err := tsdb.OpenBlock(nil, dir, nil, nil)
	if err != nil {
		t.Fatalf("Prometheus opens the block: %v", err)
	}
	defer pb.Close()
	q, err := tsdb.NewBlockQuerier(pb, testMint, testMaxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	counts := map[string][2]int{} // floats, histograms
	for ss.Next() {
		it := ss.At().Iterator(nil)
		name := ss.At().Labels().Get("__name__")
		c := counts[name]
		for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
			if vt == pchunkenc.ValFloat {
				c[0]++
			} else {
				c[1]++
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		counts[name] = c
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if counts["a_mixed"][1] != 10 || counts["b_float_hist"] != [2]int{0, 10} || counts["a_mixed"][0] == 0 {
		t.Fatalf("Prometheus read %v, want floats and 10 histograms of a_mixed, 10 histograms of b_float_hist", counts)
	}
}

// TestBlockHistogramsInEveryEncoding: whatever the block's float chunk
// encoding, its histogram chunks are written and read back as stored, and
// its floats read back whole.
func TestBlockHistogramsInEveryEncoding(t *testing.T) {
	half := testMint + (testMaxt-testMint)/2
	floats := genSeries(t, rand.New(rand.NewSource(5)), 1, testMint, half, 15000, 1)[0]
	hists := []model.HistogramChunk{histChunk(t, false, half+7, 10), histChunk(t, true, half+200_000, 4)}
	series := []model.ChunkSeries{{Labels: labels.FromStrings("__name__", "m"), Chunks: floats.Chunks, Histograms: hists}}
	for _, enc := range []ChunkEncoding{EncodingXOR, EncodingXOR2, EncodingDense} {
		t.Run(string(enc), func(t *testing.T) {
			dir := t.TempDir()
			m, err := Write(context.Background(), dir, testMint, testMaxt+1, series, WriteOptions{Encoding: enc})
			if err != nil {
				t.Fatal(err)
			}
			b, err := Open(filepath.Join(dir, m.ULID.String()))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got, err := b.Select(context.Background(), testMint, testMaxt, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
			if err != nil || len(got) != 1 {
				t.Fatalf("select: %v, %d series", err, len(got))
			}
			n := 0
			for _, c := range got[0].Chunks {
				it := chunkenc.NewIterator(c.Data)
				for it.Next() {
					n++
				}
			}
			want := 0
			for _, c := range floats.Chunks {
				want += int(c.Data[0])<<8 | int(c.Data[1])
			}
			if n != want {
				t.Fatalf("read %d floats, want %d", n, want)
			}
			if len(got[0].Histograms) != 2 {
				t.Fatalf("read %d histogram chunks, want 2", len(got[0].Histograms))
			}
			for j, c := range got[0].Histograms {
				if hex.EncodeToString(c.Data) != hex.EncodeToString(hists[j].Data) || c.Float != hists[j].Float {
					t.Fatalf("histogram chunk %d differs from the one written", j)
				}
			}
		})
	}
}
