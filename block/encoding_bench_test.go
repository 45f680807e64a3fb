package block

import (
	"cmp"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// captureSlice is the slice of a real Prometheus's remote write kept in
// the repository (testdata/capture/README.md).
const captureSlice = "../testdata/capture/prometheus-2.42-node-300req.rw"

// fullCaptureEnv names the environment variable holding the path of the
// whole recording the repository's slice is cut from
// (testdata/capture/README.md); benchmarks use it when it is set.
const fullCaptureEnv = "GORILLA_CAPTURE_FULL"

// encodingDataset is data cut into block windows: windows[w] holds the
// series of window w with one chunk each.
type encodingDataset struct {
	name    string
	bd      int64 // window length, ms
	windows [][]model.ChunkSeries
	starts  []int64
	samples int
}

// encodingDatasets returns the data the encoding benchmarks compare on:
// the capture slice, the full capture when present, the load generator's
// synthetic series over one 2h window and a node_exporter-like day.
func encodingDatasets(b *testing.B) []encodingDataset {
	out := []encodingDataset{captureDataset(b, "capture-slice", captureSlice)}
	if path := os.Getenv(fullCaptureEnv); path != "" {
		out = append(out, captureDataset(b, "capture-full", path))
	}
	const targets, rounds, step = 10, 480, 15_000
	gen := func(i int, t int64) float64 { return loadgen.SeriesValue(i, int((t-testMint)/step)) }
	lsets := make([]labels.Labels, targets*loadgen.SeriesPerTarget)
	for i := range lsets {
		lsets[i] = loadgen.SeriesLabels(i)
	}
	out = append(out, generated(b, "loadgen", lsets, gen, testMint, testMint+rounds*step, step))
	lsets, gen = nodeExporterSeries(4)
	out = append(out, generated(b, "node-24h", lsets, gen, testMint, testMint+24*3600_000, step))
	return out
}

// captureDataset cuts a capture file into 2h windows.
func captureDataset(b *testing.B, name, path string) encodingDataset {
	const bd = 2 * 3600_000
	byWindow := map[int64][]model.ChunkSeries{}
	n := 0
	for lset, samples := range readCaptureSeries(b, path) {
		ss := slices.SortedFunc(slices.Values(samples), func(x, y model.Sample) int { return cmp.Compare(x.T, y.T) })
		ss = slices.CompactFunc(ss, func(x, y model.Sample) bool { return x.T == y.T })
		for len(ss) > 0 {
			w := ss[0].T / bd * bd
			k := 0
			for k < len(ss) && ss[k].T < w+bd {
				k++
			}
			smp := make([]sample, k)
			for i := range k {
				smp[i] = sample{ss[i].T, ss[i].V}
			}
			byWindow[w] = append(byWindow[w], model.ChunkSeries{Labels: *lset, Chunks: []model.Chunk{buildChunk(b, smp)}})
			n += k
			ss = ss[k:]
		}
	}
	d := encodingDataset{name: name, bd: bd, samples: n}
	for _, w := range slices.Sorted(func(yield func(int64) bool) {
		for w := range byWindow {
			if !yield(w) {
				return
			}
		}
	}) {
		series := byWindow[w]
		slices.SortFunc(series, func(x, y model.ChunkSeries) int { return labels.Compare(x.Labels, y.Labels) })
		d.windows = append(d.windows, series)
		d.starts = append(d.starts, w)
	}
	return d
}

// readCaptureSeries decodes every float sample of a capture file, grouped
// by series.
func readCaptureSeries(b *testing.B, path string) map[*labels.Labels][]model.Sample {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	byKey := map[string]*labels.Labels{}
	out := map[*labels.Labels][]model.Sample{}
	r := model.NewCaptureReader(f)
	for {
		body, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			b.Fatal(err)
		}
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			b.Fatal(err)
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
		for _, ts := range req.Timeseries {
			sb := labels.NewScratchBuilder(len(ts.Labels))
			for _, l := range ts.Labels {
				sb.Add(l.Name, l.Value)
			}
			sb.Sort()
			lset := sb.Labels()
			key := byKey[lset.String()]
			if key == nil {
				key = &lset
				byKey[lset.String()] = key
			}
			for _, smp := range ts.Samples {
				out[key] = append(out[key], model.Sample{T: smp.Timestamp, V: smp.Value})
			}
		}
	}
}

// generated samples gen over [mint, maxt) every step ms, cut into 2h
// windows of one chunk per series.
func generated(b *testing.B, name string, lsets []labels.Labels, gen func(i int, t int64) float64, mint, maxt, step int64) encodingDataset {
	const bd = 2 * 3600_000
	order := make([]int, len(lsets))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return labels.Compare(lsets[x], lsets[y]) })
	d := encodingDataset{name: name, bd: bd}
	for w := mint; w < maxt; w += bd {
		var series []model.ChunkSeries
		for _, i := range order {
			var ss []sample
			for t := w; t < min(w+bd, maxt); t += step {
				ss = append(ss, sample{t, gen(i, t)})
			}
			series = append(series, model.ChunkSeries{Labels: lsets[i], Chunks: []model.Chunk{buildChunk(b, ss)}})
			d.samples += len(ss)
		}
		d.windows = append(d.windows, series)
		d.starts = append(d.starts, w)
	}
	return d
}

// nodeExporterSeries returns the series of hosts node_exporters and how
// their values move: CPU seconds in hundredths, byte counters, page-sized
// memory gauges, load averages, a clock, and constants.
func nodeExporterSeries(hosts int) ([]labels.Labels, func(i int, t int64) float64) {
	type kind struct {
		name  string
		extra []string
		value func(h uint64, t int64) float64
	}
	r := func(h uint64, t int64, n uint64) uint64 { return mixBench(h^uint64(t)*0x9e3779b97f4a7c15) % n }
	kinds := []kind{}
	for cpu := range 4 {
		for _, mode := range []string{"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"} {
			kinds = append(kinds, kind{"node_cpu_seconds_total", []string{"cpu", strconv.Itoa(cpu), "mode", mode},
				func(h uint64, t int64) float64 { // about 15s of one CPU split over modes
					return float64(int64(h%1e7)+t/15_000*int64(1+h%1400)+int64(r(h, t, 7))) / 100
				}})
		}
	}
	for _, dev := range []string{"eth0", "lo", "docker0"} {
		for _, dir := range []string{"receive", "transmit"} {
			kinds = append(kinds, kind{"node_network_" + dir + "_bytes_total", []string{"device", dev},
				func(h uint64, t int64) float64 {
					return float64(int64(h%1e12) + t/15_000*int64(h%200_000) + int64(r(h, t, 50_000)))
				}},
				kind{"node_network_" + dir + "_packets_total", []string{"device", dev},
					func(h uint64, t int64) float64 {
						return float64(int64(h%1e9) + t/15_000*int64(h%300) + int64(r(h, t, 40)))
					}})
		}
	}
	for _, m := range []string{"MemFree", "MemAvailable", "Cached", "Buffers", "Active", "Inactive", "Dirty"} {
		kinds = append(kinds, kind{"node_memory_" + m + "_bytes", nil,
			func(h uint64, t int64) float64 { return float64((int64(h%4_000_000) + int64(r(h, t, 2000))) * 4096) }})
	}
	for _, l := range []string{"node_load1", "node_load5", "node_load15"} {
		kinds = append(kinds, kind{l, nil, func(h uint64, t int64) float64 { return float64(r(h, t/60_000, 400)) / 100 }})
	}
	kinds = append(kinds,
		kind{"node_time_seconds", nil, func(_ uint64, t int64) float64 { return float64(t+int64(t%7)) / 1000 }},
		kind{"node_memory_MemTotal_bytes", nil, func(h uint64, _ int64) float64 { return float64(h%64 + 1<<34) }},
		kind{"node_boot_time_seconds", nil, func(h uint64, _ int64) float64 { return float64(1_699_000_000 + h%86400) }},
		kind{"node_filesystem_avail_bytes", []string{"mountpoint", "/"}, func(h uint64, t int64) float64 {
			return float64((int64(h%1e8) - t/600_000*int64(h%3)) * 4096)
		}},
		kind{"up", nil, func(uint64, int64) float64 { return 1 }},
		kind{"scrape_duration_seconds", nil, func(h uint64, t int64) float64 { return 0.01 + float64(r(h, t, 1<<20))/(1<<30) }},
	)
	var lsets []labels.Labels
	var fns []func(int64) float64
	for host := range hosts {
		for k, kd := range kinds {
			lbl := append([]string{"__name__", kd.name, "instance", "host-" + strconv.Itoa(host) + ":9100", "job", "node"}, kd.extra...)
			lsets = append(lsets, labels.FromStrings(lbl...))
			h := mixBench(uint64(host)<<16 | uint64(k))
			value := kd.value
			fns = append(fns, func(t int64) float64 { return value(h, t) })
		}
	}
	return lsets, func(i int, t int64) float64 { return fns[i](t) }
}

func mixBench(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ x>>33
}

// BenchmarkEncodingBytes writes every dataset's windows as blocks in each
// chunk encoding and reports bytes per sample of the chunk segments alone
// and of whole blocks (index and meta.json included).
//
//	go test -run='^$' -bench=EncodingBytes -benchtime=1x ./block/
func BenchmarkEncodingBytes(b *testing.B) {
	for _, d := range encodingDatasets(b) {
		for _, enc := range allEncodings {
			b.Run(d.name+"/"+string(enc), func(b *testing.B) {
				for b.Loop() {
					dir := b.TempDir()
					var chunkBytes, blockBytes int64
					for w, series := range d.windows {
						m, err := Write(context.Background(), dir, d.starts[w], d.starts[w]+d.bd, series, WriteOptions{Encoding: enc})
						if err != nil {
							b.Fatal(err)
						}
						bdir := filepath.Join(dir, m.ULID.String())
						bb, err := dirSize(bdir)
						if err != nil {
							b.Fatal(err)
						}
						cb, err := dirSize(filepath.Join(bdir, ChunksDirname))
						if err != nil {
							b.Fatal(err)
						}
						// A dense block's dictionary counts with its chunks.
						if fi, err := os.Stat(filepath.Join(bdir, DictFilename)); err == nil {
							cb += fi.Size()
						}
						blockBytes += bb
						chunkBytes += cb
					}
					b.ReportMetric(float64(chunkBytes)/float64(d.samples), "chunk-B/sample")
					b.ReportMetric(float64(blockBytes)/float64(d.samples), "block-B/sample")
					b.ReportMetric(float64(d.samples), "samples")
				}
			})
		}
	}
}

// BenchmarkEncodingDecode decodes every chunk of a dataset, stored in each
// encoding, into its samples on one core, and reports samples per second.
// xor is our XOR iterator; xor2 the Prometheus XOR2 iterator; dense is zstd
// plus the dense decoder; the -to-xor cases are what the block reader does
// (decode, then encode XOR) before a query's XOR iterator runs.
//
//	go test -run='^$' -bench=EncodingDecode -cpu=1 ./block/
func BenchmarkEncodingDecode(b *testing.B) {
	for _, d := range encodingDatasets(b) {
		var xors [][]byte
		for _, series := range d.windows {
			for _, s := range series {
				for _, c := range s.Chunks {
					xors = append(xors, c.Data)
				}
			}
		}
		se, err := newSegmentEncoder(EncodingDense, d.windows[0])
		if err != nil {
			b.Fatal(err)
		}
		x2, err := newSegmentEncoder(EncodingXOR2, nil)
		if err != nil {
			b.Fatal(err)
		}
		var dense [][]byte
		var xor2 [][][]byte // the xor2 chunks of each XOR chunk
		for _, x := range xors {
			dense = append(dense, encodeOne(b, se, model.Chunk{Data: x}).Bytes())
			metas, err := x2.encode(nil, model.Chunk{Data: x})
			if err != nil {
				b.Fatal(err)
			}
			var cs [][]byte
			for _, m := range metas {
				cs = append(cs, m.Chunk.Bytes())
			}
			xor2 = append(xor2, cs)
		}
		z := func() (*zstdCodec, error) { return se.zstd, nil }
		run := func(name string, decode func(i int) int) {
			b.Run(d.name+"/"+name, func(b *testing.B) {
				n := 0
				for b.Loop() {
					for i := range xors {
						n += decode(i)
					}
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
			})
		}
		var it chunkenc.Iterator
		iterXOR := func(x []byte) int {
			it.Reset(x)
			n := 0
			sum := 0.0
			for it.Next() {
				_, v := it.At()
				sum += v
				n++
			}
			_ = math.Float64bits(sum)
			return n
		}
		run("xor", func(i int) int { return iterXOR(xors[i]) })
		var pit pchunkenc.Iterator
		run("xor2", func(i int) int {
			n := 0
			for _, b := range xor2[i] {
				c, _ := pchunkenc.FromData(pchunkenc.EncXOR2, b)
				pit = c.Iterator(pit)
				for pit.Next() != pchunkenc.ValNone {
					n++
				}
			}
			return n
		})
		var ts []int64
		var vs []float64
		run("dense", func(i int) int {
			p := dense[i][denseHeaderSize:]
			if dense[i][2] != denseRaw {
				p, _ = se.zstd.decompress(p)
			}
			ts, vs, _ = chunkenc.DecodeDense(p, ts[:0], vs[:0])
			return len(ts)
		})
		run("dense-to-xor", func(i int) int {
			x, _ := denseToXOR(dense[i], z)
			return iterXOR(x)
		})
		run("xor2-to-xor", func(i int) int {
			n := 0
			for _, b := range xor2[i] {
				c, _ := pchunkenc.FromData(pchunkenc.EncXOR2, b)
				x, _ := toXOR(c, z)
				n += iterXOR(x)
			}
			return n
		})
		se.Close()
	}
}
