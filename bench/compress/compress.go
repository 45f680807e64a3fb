package compress

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Method explains how the report splits timestamp and value bytes.
const Method = `Timestamp and value bytes: every series is encoded twice with the same chunk
boundaries, once as is and once with every value replaced by a constant.
A constant costs exactly 64 bits for a chunk's first value and 1 bit for each
following one, so timestamp bits = constant-encoding bits - those value bits
(chunk headers and padding count as timestamp bits), and value bits = real
bits - timestamp bits.`

// Kinds of series, in the order they are tested.
const (
	kindConstant   = "constant"
	kindCounter    = "counter"
	kindIntGauge   = "integer gauge"
	kindTwoDecimal = "two-decimal gauge"
	kindOtherFloat = "other float"
)

var kinds = []string{kindConstant, kindCounter, kindIntGauge, kindTwoDecimal, kindOtherFloat}

// Row sums up the encoding of a set of series.
type Row struct {
	Kind           string  `json:"kind"`
	Series         int     `json:"series"`
	Samples        int64   `json:"samples"`
	Chunks         int64   `json:"chunks"`
	Bytes          int64   `json:"bytes"`
	BytesPerSample float64 `json:"bytes_per_sample"`
	TimestampBPS   float64 `json:"timestamp_bytes_per_sample"`
	ValueBPS       float64 `json:"value_bytes_per_sample"`
	RawRatio       float64 `json:"ratio_to_16_bytes_raw"`

	tsBits, valueBits int64
}

func (r *Row) add(e seriesEncoding) {
	r.Series++
	r.Samples += e.samples
	r.Chunks += e.chunks
	r.Bytes += e.bytes
	r.tsBits += e.tsBits
	r.valueBits += e.valueBits
}

func (r *Row) finish() {
	if r.Samples == 0 {
		return
	}
	n := float64(r.Samples)
	r.BytesPerSample = float64(r.Bytes) / n
	r.TimestampBPS = float64(r.tsBits) / 8 / n
	r.ValueBPS = float64(r.valueBits) / 8 / n
	r.RawRatio = 16 / r.BytesPerSample
}

// Report is what Analyze found in one capture file; its JSON form is the
// compress command's --json output.
type Report struct {
	File               string  `json:"file"`
	Requests           int     `json:"requests"`
	WireBytes          int64   `json:"wire_bytes"`
	WireBytesPerSample float64 `json:"wire_bytes_per_sample"`
	DuplicateSamples   int64   `json:"duplicate_samples"`
	SamplesPerChunk    int     `json:"samples_per_chunk"`
	Total              Row     `json:"total"`
	Kinds              []Row   `json:"kinds"`
	Method             string  `json:"method"`
}

type tsample struct {
	t int64
	v float64
}

// Analyze reads every request of the capture at path
// (docs/format/capture.md), groups the samples per series and encodes each
// series in chunks of at most perChunk samples; perChunk must be in
// [1..chunkenc.MaxSamples].
func Analyze(path string, perChunk int) (*Report, error) {
	if perChunk <= 0 || perChunk > chunkenc.MaxSamples {
		return nil, fmt.Errorf("samples per chunk %d: want 1..%d", perChunk, chunkenc.MaxSamples)
	}
	series, rep, err := readCaptureSeries(path)
	if err != nil {
		return nil, err
	}
	byKind := map[string]*Row{}
	for _, k := range kinds {
		byKind[k] = &Row{Kind: k}
	}
	rep.SamplesPerChunk = perChunk
	rep.Total.Kind = "all"
	for _, s := range series {
		slices.SortStableFunc(s, func(a, b tsample) int { return cmp.Compare(a.t, b.t) })
		// A retried request repeats samples; keep the first of a timestamp.
		d := slices.CompactFunc(s, func(a, b tsample) bool { return a.t == b.t })
		rep.DuplicateSamples += int64(len(s) - len(d))
		e := encodeSeries(d, perChunk)
		rep.Total.add(e)
		byKind[classify(d)].add(e)
	}
	rep.Total.finish()
	for _, k := range kinds {
		byKind[k].finish()
		rep.Kinds = append(rep.Kinds, *byKind[k])
	}
	if rep.Total.Samples > 0 {
		rep.WireBytesPerSample = float64(rep.WireBytes) / float64(rep.Total.Samples)
	}
	rep.Method = Method
	return rep, nil
}

// readCaptureSeries decodes the capture into samples per series, keyed by
// their label pairs.
func readCaptureSeries(path string) (map[string][]tsample, *Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rep := &Report{File: path}
	series := map[string][]tsample{}
	var (
		raw []byte
		req prompb.WriteRequest
		key strings.Builder
	)
	cr := model.NewCaptureReader(f)
	for {
		body, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return series, rep, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		if raw, err = snappy.Decode(raw[:cap(raw)], body); err != nil {
			return nil, nil, fmt.Errorf("%s: request %d: snappy: %w", path, rep.Requests, err)
		}
		req.Reset()
		if err := req.Unmarshal(raw); err != nil {
			return nil, nil, fmt.Errorf("%s: request %d: decode: %w", path, rep.Requests, err)
		}
		rep.Requests++
		rep.WireBytes += int64(len(body))
		for _, ts := range req.Timeseries {
			key.Reset()
			for _, l := range ts.Labels {
				key.WriteString(l.Name)
				key.WriteByte(0xff)
				key.WriteString(l.Value)
				key.WriteByte(0xfe)
			}
			k := key.String()
			for _, s := range ts.Samples {
				series[k] = append(series[k], tsample{s.Timestamp, s.Value})
			}
		}
	}
}

// seriesEncoding is the cost of one series in XOR chunks.
type seriesEncoding struct {
	samples, chunks, bytes int64
	tsBits, valueBits      int64
}

// encodeSeries encodes the samples in chunks of at most perChunk samples
// and splits the bits between timestamps and values as Method says.
func encodeSeries(s []tsample, perChunk int) seriesEncoding {
	realBytes, counts := encodeChunks(s, perChunk, false)
	constBytes, _ := encodeChunks(s, perChunk, true)
	var constValueBits int64
	for _, n := range counts {
		constValueBits += 64 + int64(n-1)
	}
	ts := 8*constBytes - constValueBits
	return seriesEncoding{
		samples:   int64(len(s)),
		chunks:    int64(len(counts)),
		bytes:     realBytes,
		tsBits:    ts,
		valueBits: 8*realBytes - ts,
	}
}

// encodeChunks returns the total size of the chunks holding s and the
// sample count of each chunk. With constant set every value is 0.
func encodeChunks(s []tsample, perChunk int, constant bool) (bytes int64, counts []int) {
	for len(s) > 0 {
		c := chunkenc.NewXORChunk()
		app, err := c.Appender()
		if err != nil {
			panic("BUG: appender of a new chunk: " + err.Error())
		}
		n := 0
		for ; n < min(len(s), perChunk); n++ {
			v := s[n].v
			if constant {
				v = 0
			}
			if err := app.Append(s[n].t, v); errors.Is(err, chunkenc.ErrChunkFull) {
				break
			}
		}
		bytes += int64(len(c.Bytes()))
		counts = append(counts, n)
		s = s[n:]
	}
	return bytes, counts
}

// classify names the kind of a series by its values; stale markers and other
// NaNs are ignored.
func classify(s []tsample) string {
	constant, counter, integer, twoDec := true, true, true, true
	first, prev := math.NaN(), math.NaN()
	for _, x := range s {
		v := x.v
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(first) {
			first = v
		}
		constant = constant && v == first
		counter = counter && (math.IsNaN(prev) || v >= prev)
		integer = integer && v == math.Trunc(v) && !math.IsInf(v, 0)
		c := v * 100
		twoDec = twoDec && !math.IsInf(c, 0) && math.Abs(c-math.Round(c)) <= 1e-9*max(1, math.Abs(c))
		prev = v
	}
	switch {
	case constant:
		return kindConstant
	case counter:
		return kindCounter
	case integer:
		return kindIntGauge
	case twoDec:
		return kindTwoDecimal
	default:
		return kindOtherFloat
	}
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the report as an aligned table, followed by Method.
func (rep *Report) WriteTable(out io.Writer) error {
	fmt.Fprintf(out, "%s: %d requests, %d series, %d samples", rep.File, rep.Requests, rep.Total.Series, rep.Total.Samples)
	if rep.DuplicateSamples > 0 {
		fmt.Fprintf(out, " (%d repeated samples dropped)", rep.DuplicateSamples)
	}
	fmt.Fprintf(out, "\nchunks of at most %d samples\n\n", rep.SamplesPerChunk)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-18s\tseries\tsamples\tchunks\tbytes\tbytes/sample\tts bytes/sample\tvalue bytes/sample\tvs 16 B raw\t\n", "kind")
	row := func(r Row) {
		fmt.Fprintf(tw, "%-18s\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.1fx\t\n",
			r.Kind, r.Series, r.Samples, r.Chunks, r.Bytes, r.BytesPerSample, r.TimestampBPS, r.ValueBPS, r.RawRatio)
	}
	for _, r := range rep.Kinds {
		row(r)
	}
	row(rep.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if rep.Total.Samples > 0 {
		fmt.Fprintf(out, "wire: %d bytes of snappy-compressed requests = %.3f bytes/sample (labels and metadata included); chunks are %.1fx smaller\n",
			rep.WireBytes, rep.WireBytesPerSample, rep.WireBytesPerSample/rep.Total.BytesPerSample)
	}
	fmt.Fprintln(out)
	_, err := fmt.Fprintln(out, Method)
	return err
}
