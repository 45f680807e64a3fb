package compress

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
)

// writeCapture writes requests as a capture file (docs/format/capture.md).
func writeCapture(t *testing.T, reqs []prompb.WriteRequest) string {
	t.Helper()
	var buf []byte
	for _, r := range reqs {
		raw, err := r.Marshal()
		require.NoError(t, err)
		body := snappy.Encode(nil, raw)
		buf = binary.AppendUvarint(buf, uint64(len(body)))
		buf = append(buf, body...)
	}
	path := filepath.Join(t.TempDir(), "test.rw")
	require.NoError(t, os.WriteFile(path, buf, 0o644))
	return path
}

func TestCompressSynthetic(t *testing.T) {
	const n = 200
	value := map[string]func(i int) float64{
		"constant": func(int) float64 { return 42 },
		"counter":  func(i int) float64 { return float64(i * i) },
		"gauge":    func(i int) float64 { return float64((i * 37) % 101) },
		"twodec":   func(i int) float64 { return float64((i*7919)%10007) / 100 },
		"floats":   func(i int) float64 { return math.Sin(float64(i)) * 1000 },
		"staleness": func(i int) float64 {
			if i == n-1 {
				return math.Float64frombits(0x7ff0000000000002) // a stale marker
			}
			return 1
		},
	}
	names := []string{"constant", "counter", "gauge", "twodec", "floats", "staleness"}
	// Ten requests of 20 rounds each; the first round of request 5 is sent
	// twice, as a retry would.
	var reqs []prompb.WriteRequest
	for q := range 10 {
		var req prompb.WriteRequest
		for _, name := range names {
			ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}}}
			for i := q * 20; i < (q+1)*20; i++ {
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: 1_700_000_000_000 + int64(i)*15_000, Value: value[name](i)})
			}
			req.Timeseries = append(req.Timeseries, ts)
		}
		reqs = append(reqs, req)
		if q == 5 {
			reqs = append(reqs, req)
		}
	}
	path := writeCapture(t, reqs)

	rep, err := Analyze(path, chunkenc.MaxSamples)
	require.NoError(t, err)
	require.Equal(t, 11, rep.Requests)
	require.Equal(t, len(names), rep.Total.Series)
	require.Equal(t, int64(len(names)*n), rep.Total.Samples)
	require.Equal(t, int64(len(names)*20), rep.DuplicateSamples)
	require.Equal(t, rep.Total.Bytes*8, rep.Total.tsBits+rep.Total.valueBits)

	got := map[string]Row{}
	var samples int64
	for _, r := range rep.Kinds {
		got[r.Kind] = r
		samples += r.Samples
		require.Equal(t, r.Bytes*8, r.tsBits+r.valueBits, r.Kind)
	}
	require.Equal(t, rep.Total.Samples, samples)
	want := map[string]int{kindConstant: 2, kindCounter: 1, kindIntGauge: 1, kindTwoDecimal: 1, kindOtherFloat: 1}
	for k, w := range want {
		require.Equal(t, w, got[k].Series, k)
	}
	// The constant 42 costs 64 bits, then 1 bit per sample; the
	// stale marker ending the other constant series costs a few bits more.
	c := got[kindConstant]
	require.InDelta(t, 1.0/8, c.ValueBPS, 0.12, "constant value bytes/sample")
	// Regular 15s timestamps cost little more than one bit per sample.
	require.Less(t, rep.Total.TimestampBPS, 0.3)

	var out bytes.Buffer
	rep120, err := Analyze(path, 120)
	require.NoError(t, err)
	require.NoError(t, rep120.WriteTable(&out))
	require.Contains(t, out.String(), "two-decimal gauge")
	out.Reset()
	require.NoError(t, rep120.WriteJSON(&out))
	var decoded Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &decoded))
	require.Equal(t, rep.Total.Samples, decoded.Total.Samples)
}

func TestCompressConstantBits(t *testing.T) {
	s := make([]tsample, 1000)
	for i := range s {
		s[i] = tsample{int64(i) * 1000, 7}
	}
	e := encodeSeries(s, chunkenc.MaxSamples)
	require.Equal(t, int64(64+999), e.valueBits, "value bits of a constant")
	require.Equal(t, kindConstant, classify(s))
}

// repoCapture is the slice of a real Prometheus's remote write kept in the
// repository (testdata/capture/README.md), relative to this package: the
// first 300 requests, with 2,200 series and 148,500 float samples.
const repoCapture = "../../testdata/capture/prometheus-2.42-node-300req.rw"

func TestCompressRepoCapture(t *testing.T) {
	rep, err := Analyze(repoCapture, chunkenc.MaxSamples)
	require.NoError(t, err)
	require.Equal(t, 2200, rep.Total.Series)
	require.Equal(t, int64(148_500), rep.Total.Samples)
	require.Greater(t, rep.Total.BytesPerSample, 1.0)
	require.Less(t, rep.Total.BytesPerSample, 3.0)
	require.Greater(t, rep.WireBytesPerSample, rep.Total.BytesPerSample)
}

func TestAnalyzeSamplesPerChunkBounds(t *testing.T) {
	path := writeCapture(t, nil)
	for _, n := range []int{0, -1, chunkenc.MaxSamples + 1} {
		_, err := Analyze(path, n)
		require.ErrorContains(t, err, "samples per chunk", "n=%d", n)
	}
}
