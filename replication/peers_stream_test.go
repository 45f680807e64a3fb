package replication

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// frame encodes resp as one frame of a streamed answer.
func frame(t testing.TB, resp *prompb.ChunkedReadResponse) []byte {
	t.Helper()
	msg, err := resp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b := binary.AppendUvarint(nil, uint64(len(msg)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(msg, crc32.MakeTable(crc32.Castagnoli)))
	return append(b, msg...)
}

// xorChunk returns an XOR chunk of the samples (t, t/10) for t in ts.
func xorChunk(t testing.TB, ts ...int64) prompb.Chunk {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		app.Append(0, x, float64(x)/10)
	}
	return prompb.Chunk{MinTimeMs: ts[0], MaxTimeMs: ts[len(ts)-1], Type: prompb.Chunk_XOR, Data: c.Bytes()}
}

func series(name string, cs ...prompb.Chunk) prompb.ChunkedSeries {
	return prompb.ChunkedSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}}, Chunks: cs}
}

func resp(cs ...prompb.ChunkedSeries) *prompb.ChunkedReadResponse {
	out := &prompb.ChunkedReadResponse{}
	for i := range cs {
		out.ChunkedSeries = append(out.ChunkedSeries, &cs[i])
	}
	return out
}

// validStream is two frames: series a, then a split over both frames
// and b in the second.
func validStream(t testing.TB) []byte {
	a1, a2, b := xorChunk(t, 10, 20), xorChunk(t, 30, 40, 50), xorChunk(t, 5)
	s := frame(t, resp(series("a", a1)))
	return append(s, frame(t, resp(series("a", a2), series("b", b)))...)
}

func TestDecodeStream(t *testing.T) {
	got, err := decodeStream(bytes.NewReader(validStream(t)), 1<<20)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(got) != 2 || got[0].lset.Get("__name__") != "a" || got[1].lset.Get("__name__") != "b" {
		t.Fatalf("got %d series %v, want a then b", len(got), got)
	}
	if n := len(got[0].chunks); n != 2 {
		t.Fatalf("series a has %d chunks, want 2 (joined across frames)", n)
	}
	if c := got[0].chunks[1]; c.MinTime != 30 || c.MaxTime != 50 || c.Chunk.NumSamples() != 3 {
		t.Fatalf("second chunk of a: [%d, %d] with %d samples, want [30, 50] with 3", c.MinTime, c.MaxTime, c.Chunk.NumSamples())
	}
	if got, err := decodeStream(bytes.NewReader(nil), 1<<20); err != nil || len(got) != 0 {
		t.Fatalf("empty stream: %v, %v; want no series, no error", got, err)
	}
}

func TestDecodeStreamCorrupt(t *testing.T) {
	valid := validStream(t)
	badCRC := bytes.Clone(valid)
	badCRC[2] ^= 0xff
	unsorted := append(frame(t, resp(series("b", xorChunk(t, 1)))), frame(t, resp(series("a", xorChunk(t, 1))))...)
	backwards := xorChunk(t, 10, 20)
	backwards.MinTimeMs, backwards.MaxTimeMs = 20, 10
	cases := []struct {
		name     string
		data     []byte
		maxFrame int
	}{
		{"truncated frame", valid[:len(valid)-3], 1 << 20},
		{"truncated checksum", valid[:3], 1 << 20},
		{"bad checksum", badCRC, 1 << 20},
		{"frame over the limit", valid, 8},
		{"unsorted series", unsorted, 1 << 20},
		{"chunk ending before it starts", frame(t, resp(series("a", backwards))), 1 << 20},
		{"other query", frame(t, &prompb.ChunkedReadResponse{QueryIndex: 1}), 1 << 20},
		{"not a message", nil, 1 << 20}, // set below
	}
	// A frame whose message is a lone invalid tag byte.
	msg := []byte{0xff}
	bad := binary.AppendUvarint(nil, 1)
	bad = binary.BigEndian.AppendUint32(bad, crc32.Checksum(msg, crc32.MakeTable(crc32.Castagnoli)))
	cases[len(cases)-1].data = append(bad, msg...)
	for _, c := range cases {
		if _, err := decodeStream(bytes.NewReader(c.data), c.maxFrame); !errors.Is(err, ErrCorruptStream) {
			t.Errorf("%s: error %v, want ErrCorruptStream", c.name, err)
		}
	}
}

// FuzzChunkedStream feeds arbitrary bytes to the streamed-answer decoder:
// it must never panic, and what it accepts must hold chunks whose time
// range is in order, in series sorted by labels.
func FuzzChunkedStream(f *testing.F) {
	f.Add(validStream(f))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeStream(bytes.NewReader(data), 1<<16)
		if err != nil {
			if !errors.Is(err, ErrCorruptStream) {
				t.Fatalf("error %v does not wrap ErrCorruptStream", err)
			}
			return
		}
		for i, s := range got {
			if i > 0 && labels.Compare(got[i-1].lset, s.lset) >= 0 {
				t.Fatalf("series %s after %s", s.lset, got[i-1].lset)
			}
			for _, c := range s.chunks {
				if c.MinTime > c.MaxTime {
					t.Fatalf("chunk [%d, %d] accepted", c.MinTime, c.MaxTime)
				}
				// Reading a garbled chunk may fail, never panic.
				it := c.Chunk.Iterator(nil)
				for it.Next() != chunkenc.ValNone {
				}
			}
		}
	})
}

// BenchmarkDecodeStream decodes a streamed answer of 1,000 series of one
// 120-sample chunk each, in frames of about 1 MiB as the handler sends.
func BenchmarkDecodeStream(b *testing.B) {
	ts := make([]int64, 120)
	for i := range ts {
		ts[i] = int64(i) * 15_000
	}
	chk := xorChunk(b, ts...)
	var stream []byte
	r := &prompb.ChunkedReadResponse{}
	for i := range 1000 {
		cs := &prompb.ChunkedSeries{Labels: []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "i", Value: fmt.Sprintf("%04d", i)}}, Chunks: []prompb.Chunk{chk}}
		r.ChunkedSeries = append(r.ChunkedSeries, cs)
		if r.Size() >= 1<<20 {
			stream = append(stream, frame(b, r)...)
			r = &prompb.ChunkedReadResponse{}
		}
	}
	stream = append(stream, frame(b, r)...)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := decodeStream(bytes.NewReader(stream), 1<<26)
		if err != nil || len(got) != 1000 {
			b.Fatalf("decoded %d series, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/120_000, "ns/sample")
}
