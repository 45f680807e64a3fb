package chunkenc

import (
	"cmp"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/prometheus/prometheus/prompb"
	prom "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// capturePath is the slice of a real Prometheus's remote write kept in the
// repository (testdata/capture/README.md).
const capturePath = "../testdata/capture/prometheus-2.42-node-300req.rw"

var (
	captureOnce   sync.Once
	captureSeries [][]sample
	captureErr    error
)

// loadCapture returns the float samples of the capture grouped by series and
// sorted by time.
func loadCapture(b *testing.B) [][]sample {
	b.Helper()
	captureOnce.Do(func() { captureSeries, captureErr = readCapture(capturePath) })
	if captureErr != nil {
		b.Fatal(captureErr)
	}
	return captureSeries
}

func readCapture(path string) ([][]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bySeries := map[string][]sample{}
	r := model.NewCaptureReader(f)
	for {
		body, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			return nil, err
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			return nil, err
		}
		for _, ts := range req.Timeseries {
			key := ""
			for _, l := range ts.Labels {
				key += l.Name + "\xff" + l.Value + "\xff"
			}
			for _, s := range ts.Samples {
				bySeries[key] = append(bySeries[key], sample{s.Timestamp, s.Value})
			}
		}
	}
	out := make([][]sample, 0, len(bySeries))
	for _, ss := range bySeries {
		slices.SortStableFunc(ss, func(a, b sample) int { return cmp.Compare(a.t, b.t) })
		out = append(out, ss)
	}
	return out, nil
}

// split cuts every series into chunks of at most n samples (n <= 0: one
// chunk per series).
func split(series [][]sample, n int) [][]sample {
	var out [][]sample
	for _, ss := range series {
		if n <= 0 {
			out = append(out, ss)
			continue
		}
		for len(ss) > 0 {
			k := min(n, len(ss))
			out = append(out, ss[:k])
			ss = ss[k:]
		}
	}
	return out
}

func countSamples(chunks [][]sample) int {
	n := 0
	for _, ss := range chunks {
		n += len(ss)
	}
	return n
}

func reportPerSample(b *testing.B, samples, bytes int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
	if bytes > 0 {
		b.ReportMetric(float64(bytes)/float64(samples), "bytes/sample")
	}
}

func benchEncode(b *testing.B, chunks [][]sample) {
	n := countSamples(chunks)
	size := 0
	b.ReportAllocs()
	for b.Loop() {
		size = 0
		for _, ss := range chunks {
			c := NewXORChunk()
			app, _ := c.Appender()
			for _, s := range ss {
				if err := app.Append(s.t, s.v); err != nil {
					b.Fatal(err)
				}
			}
			size += len(c.Bytes())
		}
	}
	reportPerSample(b, n, size)
}

func benchEncodeReference(b *testing.B, chunks [][]sample) {
	n := countSamples(chunks)
	size := 0
	b.ReportAllocs()
	for b.Loop() {
		size = 0
		for _, ss := range chunks {
			c := prom.NewXORChunk()
			app, _ := c.Appender()
			for _, s := range ss {
				app.Append(0, s.t, s.v)
			}
			size += len(c.Bytes())
		}
	}
	reportPerSample(b, n, size)
}

func benchDecode(b *testing.B, chunks [][]sample) {
	n := countSamples(chunks)
	encoded := make([][]byte, len(chunks))
	size := 0
	for i, ss := range chunks {
		encoded[i] = encode(b, ss).Bytes()
		size += len(encoded[i])
	}
	var it Iterator
	var sink float64
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range encoded {
			it.Reset(e)
			for it.Next() {
				_, v := it.At()
				sink += v
			}
			if it.Err() != nil {
				b.Fatal(it.Err())
			}
		}
	}
	_ = sink
	reportPerSample(b, n, size)
}

func benchDecodeReference(b *testing.B, chunks [][]sample) {
	n := countSamples(chunks)
	encoded := make([]prom.Chunk, len(chunks))
	for i, ss := range chunks {
		c, err := prom.FromData(prom.EncXOR, promEncode(b, ss))
		if err != nil {
			b.Fatal(err)
		}
		encoded[i] = c
	}
	var it prom.Iterator
	var sink float64
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range encoded {
			it = c.Iterator(it)
			for it.Next() == prom.ValFloat {
				_, v := it.At()
				sink += v
			}
		}
	}
	_ = sink
	reportPerSample(b, n, 0)
}

// BenchmarkCapture encodes and decodes the real remote-write capture, one
// chunk per series and in 120-sample chunks. The reference sub-benchmarks
// run the Prometheus implementation on the same input for comparison.
// Prometheus stores the full ten-minute capture in 1.53 and 1.65 bytes per
// sample; its first three minutes, kept here, have shorter series and cost
// a little more.
func BenchmarkCapture(b *testing.B) {
	series := loadCapture(b)
	layouts := []struct {
		name string
		n    int
	}{{"per-series", 0}, {"120-samples", 120}}
	for _, l := range layouts {
		chunks := split(series, l.n)
		b.Run("encode/"+l.name, func(b *testing.B) { benchEncode(b, chunks) })
		b.Run("decode/"+l.name, func(b *testing.B) { benchDecode(b, chunks) })
		b.Run("encode-reference/"+l.name, func(b *testing.B) { benchEncodeReference(b, chunks) })
		b.Run("decode-reference/"+l.name, func(b *testing.B) { benchDecodeReference(b, chunks) })
	}
}

// BenchmarkSynthetic covers the typical series shapes, 120-sample chunks
// scraped every 15s.
func BenchmarkSynthetic(b *testing.B) {
	const n = 120 * 100
	gen := func(f func(i int) float64) [][]sample {
		ss := make([]sample, n)
		for i := range ss {
			ss[i] = sample{1_700_000_000_000 + int64(i)*15_000, f(i)}
		}
		return split([][]sample{ss}, 120)
	}
	x := uint64(42)
	shapes := []struct {
		name   string
		chunks [][]sample
	}{
		{"counter", gen(func(i int) float64 { return float64(i * 37) })},
		{"gauge", gen(func(int) float64 {
			x = x*6364136223846793005 + 1442695040888963407
			return math.Round(float64(x>>40)/float64(1<<24)*10000) / 100
		})},
		{"constant", gen(func(int) float64 { return 1 })},
	}
	for _, s := range shapes {
		b.Run("encode/"+s.name, func(b *testing.B) { benchEncode(b, s.chunks) })
		b.Run("decode/"+s.name, func(b *testing.B) { benchDecode(b, s.chunks) })
	}
}
