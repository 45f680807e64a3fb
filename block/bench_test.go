package block

import (
	"context"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

const (
	benchSeries  = 10_000
	benchSamples = 240 // one every 30s over the 2h window
)

// benchBlockSeries returns 10k series of 240 samples, one chunk each, as
// the head seals them: random-walk gauges (full-precision floats, the hard
// case for XOR).
func benchBlockSeries(b *testing.B) []model.ChunkSeries {
	b.Helper()
	return genSeries(b, rand.New(rand.NewSource(42)), benchSeries, testMint, testMaxt, (testMaxt-testMint)/benchSamples, 1)
}

// counterSeries replaces the samples of series by counters that grow by
// small integers at exactly 30s: the common case of scraped data.
func counterSeries(b *testing.B, series []model.ChunkSeries) []model.ChunkSeries {
	rng := rand.New(rand.NewSource(43))
	step := (testMaxt - testMint) / benchSamples
	out := make([]model.ChunkSeries, len(series))
	for i, s := range series {
		ss := make([]sample, 0, benchSamples)
		v := float64(rng.Intn(1000))
		for ts := testMint; ts < testMaxt; ts += step {
			v += float64(rng.Intn(10))
			ss = append(ss, sample{ts, v})
		}
		out[i] = model.ChunkSeries{Labels: s.Labels, Chunks: []model.Chunk{buildChunk(b, ss)}}
	}
	return out
}

func BenchmarkWrite(b *testing.B) {
	gauges := benchBlockSeries(b)
	for _, c := range []struct {
		name   string
		series []model.ChunkSeries
	}{{"gauges", gauges}, {"counters", counterSeries(b, gauges)}} {
		b.Run(c.name, func(b *testing.B) { benchWrite(b, c.series) })
	}
}

func benchWrite(b *testing.B, series []model.ChunkSeries) {
	var samples uint64
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m, err := Write(context.Background(), dir, testMint, testMaxt, series, WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		samples = m.Stats.NumSamples
		b.StopTimer()
		size, err := dirSize(filepath.Join(dir, m.ULID.String()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(size)/float64(samples), "B/sample")
		b.ReportMetric(float64(size), "block-bytes")
		b.StartTimer()
	}
	b.ReportMetric(float64(samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkSelect(b *testing.B) {
	series := benchBlockSeries(b)
	dir := b.TempDir()
	m, err := Write(context.Background(), dir, testMint, testMaxt, series, WriteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	blk, err := Open(filepath.Join(dir, m.ULID.String()))
	if err != nil {
		b.Fatal(err)
	}
	defer blk.Close()
	mm := labels.MustNewMatcher
	cases := []struct {
		name string
		ms   []*labels.Matcher
	}{
		{"all", nil},
		{"name=", []*labels.Matcher{mm(labels.MatchEqual, "__name__", "metric_3")}},
		{"name=,a=~", []*labels.Matcher{mm(labels.MatchEqual, "__name__", "metric_3"), mm(labels.MatchRegexp, "a", "v1.*")}},
		{"one series", []*labels.Matcher{mm(labels.MatchEqual, "instance", "host-0042")}},
		{"a=\"\"", []*labels.Matcher{mm(labels.MatchEqual, "a", "")}},
	}
	ctx := context.Background()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				res, err := blk.Select(ctx, testMint, testMaxt, c.ms...)
				if err != nil {
					b.Fatal(err)
				}
				n = len(res)
			}
			b.ReportMetric(float64(n), "series")
		})
	}
}
