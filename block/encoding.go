package block

import (
	"encoding/binary"
	"errors"
	"fmt"

	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// ChunkEncoding names how a block stores its chunks (docs/format/block.md).
// Whatever a block stores, Select returns XOR chunks: the rest of the
// system (queries, remote read, merges, roll-ups) sees one format.
type ChunkEncoding string

// The chunk encodings a block may use.
const (
	// EncodingXOR stores the Prometheus XOR chunks as they come from the
	// head; every Prometheus release reads them.
	EncodingXOR ChunkEncoding = "xor"
	// EncodingXOR2 stores Prometheus 3.16's XOR2 chunks (segment encoding
	// 4), readable by Prometheus 3.16 and later and their promtool.
	EncodingXOR2 ChunkEncoding = "xor2"
	// EncodingDense stores our dense chunks (docs/format/dense.md),
	// readable by gorilla-remote only.
	EncodingDense ChunkEncoding = "dense"
)

// EncDense is the segment-file encoding byte of a dense chunk. It is part
// of the format; it lies far above the encodings Prometheus defines (1-6)
// so that a Prometheus reader reports an unknown encoding instead of
// misreading the bytes.
const EncDense pchunkenc.Encoding = 0x40

// Dense chunk bodies after the 2-byte sample count: a flag byte saying
// whether the dense samples that follow are zstd-compressed.
const (
	denseRaw  = 0
	denseZstd = 1
	// denseZstdDict is a zstd frame written with the block's dictionary
	// (DictFilename).
	denseZstdDict = 2
	// denseHeaderSize is the sample count and the flag byte.
	denseHeaderSize = 3
)

// ErrUnknownEncoding is returned for a chunk encoding name or byte this
// version does not know.
var ErrUnknownEncoding = errors.New("unknown chunk encoding")

// ParseChunkEncoding returns the encoding named s; "" is EncodingXOR.
func ParseChunkEncoding(s string) (ChunkEncoding, error) {
	switch e := ChunkEncoding(s); e {
	case "":
		return EncodingXOR, nil
	case EncodingXOR, EncodingXOR2, EncodingDense:
		return e, nil
	}
	return "", fmt.Errorf("%w %q (want xor, xor2 or dense)", ErrUnknownEncoding, s)
}

// segmentChunk is a chunk re-encoded for the segment file, with the
// encoding byte it is written under.
type segmentChunk struct {
	enc  pchunkenc.Encoding
	data []byte
}

var _ pchunkenc.Chunk = segmentChunk{}

func (c segmentChunk) Bytes() []byte                { return c.data }
func (c segmentChunk) Encoding() pchunkenc.Encoding { return c.enc }
func (c segmentChunk) NumSamples() int              { return int(binary.BigEndian.Uint16(c.data)) }
func (segmentChunk) Compact()                       {}
func (segmentChunk) Reset([]byte)                   { panic("BUG: Reset on a stored chunk") }
func (segmentChunk) Iterator(pchunkenc.Iterator) pchunkenc.Iterator {
	panic("BUG: Iterator on a segment chunk")
}
func (segmentChunk) Appender() (pchunkenc.Appender, error) {
	return nil, errors.New("stored chunk is read-only")
}

// segmentEncoder turns the XOR chunks Write receives into the block's
// encoding. It is not safe for concurrent use.
type segmentEncoder struct {
	enc  ChunkEncoding
	zstd *zstdCodec // dense only
	dict []byte     // dense only: the block's dictionary, nil for none
	ts   []int64
	vs   []float64
}

// newSegmentEncoder returns an encoder into enc. For dense, it trains the
// block's dictionary on series (see buildDenseDict).
func newSegmentEncoder(enc ChunkEncoding, series []model.ChunkSeries) (*segmentEncoder, error) {
	e := &segmentEncoder{enc: enc}
	if enc == EncodingDense {
		dict, err := buildDenseDict(series)
		if err != nil {
			return nil, err
		}
		z, err := newZstdCodec(dict)
		if err != nil {
			return nil, err
		}
		e.zstd, e.dict = z, dict
	}
	return e, nil
}

// Close releases the compressor.
func (e *segmentEncoder) Close() {
	if e.zstd != nil {
		e.zstd.Close()
	}
}

// xor2ChunkSamples is where xor2 chunks are cut, as Prometheus cuts them:
// chunks of the Prometheus XOR2 appender grow much faster past about 128
// samples (measured: 2.5 times the XOR size at 480 samples, 2.7 at 2000).
const xor2ChunkSamples = 120

// encode appends c in the block's encoding to metas: one chunk, or for
// xor2 one per xor2ChunkSamples samples.
func (e *segmentEncoder) encode(metas []chunks.Meta, c model.Chunk) ([]chunks.Meta, error) {
	switch e.enc {
	case EncodingXOR, "":
		return append(metas, chunks.Meta{Chunk: storedChunk(c.Data), MinTime: c.MinT, MaxTime: c.MaxT}), nil
	case EncodingXOR2:
		return e.xor2(metas, c.Data)
	case EncodingDense:
		sc, err := e.dense(c.Data)
		if err != nil {
			return nil, err
		}
		return append(metas, chunks.Meta{Chunk: sc, MinTime: c.MinT, MaxTime: c.MaxT}), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownEncoding, e.enc)
}

// xor2 appends an XOR chunk as xor2 chunks of at most xor2ChunkSamples.
func (e *segmentEncoder) xor2(metas []chunks.Meta, xor []byte) ([]chunks.Meta, error) {
	if err := e.samples(xor); err != nil {
		return nil, fmt.Errorf("xor2 chunk: %w", err)
	}
	for i := 0; i < len(e.ts); i += xor2ChunkSamples {
		k := min(i+xor2ChunkSamples, len(e.ts))
		c := pchunkenc.NewXOR2Chunk()
		app, err := c.Appender()
		if err != nil {
			return nil, fmt.Errorf("xor2 chunk: %w", err)
		}
		for j := i; j < k; j++ {
			app.Append(0, e.ts[j], e.vs[j])
		}
		c.Compact()
		metas = append(metas, chunks.Meta{Chunk: c, MinTime: e.ts[i], MaxTime: e.ts[k-1]})
	}
	return metas, nil
}

// samples decodes an XOR chunk into e.ts and e.vs.
func (e *segmentEncoder) samples(xor []byte) error {
	e.ts, e.vs = e.ts[:0], e.vs[:0]
	it := chunkenc.NewIterator(xor)
	for it.Next() {
		t, v := it.At()
		e.ts = append(e.ts, t)
		e.vs = append(e.vs, v)
	}
	return it.Err()
}

// dense encodes an XOR chunk as a dense chunk, zstd-compressed unless the
// compressed form is not smaller.
func (e *segmentEncoder) dense(xor []byte) (pchunkenc.Chunk, error) {
	if err := e.samples(xor); err != nil {
		return nil, fmt.Errorf("dense chunk: %w", err)
	}
	raw := binary.BigEndian.AppendUint16(make([]byte, 0, 64), uint16(len(e.ts)))
	raw = append(raw, denseRaw)
	raw = chunkenc.AppendDense(raw, e.ts, e.vs)
	flag := byte(denseZstd)
	if e.zstd.dict {
		flag = denseZstdDict
	}
	packed := binary.BigEndian.AppendUint16(make([]byte, 0, len(raw)), uint16(len(e.ts)))
	packed = e.zstd.compress(append(packed, flag), raw[denseHeaderSize:])
	if len(packed) < len(raw) {
		return segmentChunk{enc: EncDense, data: packed}, nil
	}
	return segmentChunk{enc: EncDense, data: raw}, nil
}

// toXOR returns the XOR bytes of a chunk read from a segment, a copy that
// does not alias the mapping. z decompresses dense chunks.
func toXOR(c pchunkenc.Chunk, z func() (*zstdCodec, error)) ([]byte, error) {
	switch c.Encoding() {
	case pchunkenc.EncXOR:
		return append([]byte(nil), c.Bytes()...), nil
	case pchunkenc.EncXOR2:
		return reencode(c.Iterator(nil), c.NumSamples())
	case EncDense:
		return denseToXOR(c.Bytes(), z)
	}
	return nil, fmt.Errorf("%w %s", ErrUnknownEncoding, c.Encoding())
}

// reencode writes the float samples of a Prometheus iterator as XOR.
func reencode(it pchunkenc.Iterator, n int) ([]byte, error) {
	if n > chunkenc.MaxSamples {
		return nil, fmt.Errorf("%w: %d samples", chunkenc.ErrCorrupt, n)
	}
	out := chunkenc.NewXORChunk()
	app, err := out.Appender()
	if err != nil {
		return nil, err
	}
	for vt := it.Next(); vt != pchunkenc.ValNone; vt = it.Next() {
		if vt != pchunkenc.ValFloat {
			return nil, fmt.Errorf("%w: a %s sample in a float chunk", chunkenc.ErrCorrupt, vt)
		}
		t, v := it.At()
		if err := app.Append(t, v); err != nil {
			return nil, err
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	out.Compact()
	return out.Bytes(), nil
}

// denseToXOR decodes a dense chunk body and writes its samples as XOR.
func denseToXOR(b []byte, z func() (*zstdCodec, error)) ([]byte, error) {
	if len(b) < denseHeaderSize {
		return nil, fmt.Errorf("%w: dense chunk of %d bytes", chunkenc.ErrCorrupt, len(b))
	}
	count := int(binary.BigEndian.Uint16(b))
	payload := b[denseHeaderSize:]
	switch b[2] {
	case denseRaw:
	case denseZstd, denseZstdDict:
		// The block's decoder knows its dictionary; zstd refuses a frame
		// naming a dictionary it does not have.
		codec, err := z()
		if err != nil {
			return nil, err
		}
		if payload, err = codec.decompress(payload); err != nil {
			return nil, fmt.Errorf("%w: %w", chunkenc.ErrCorrupt, err)
		}
	default:
		return nil, fmt.Errorf("%w: dense chunk flag %d", chunkenc.ErrCorrupt, b[2])
	}
	ts, vs, err := chunkenc.DecodeDense(payload, make([]int64, 0, count), make([]float64, 0, count))
	if err != nil {
		return nil, err
	}
	if len(ts) != count {
		return nil, fmt.Errorf("%w: dense chunk header says %d samples, body holds %d", chunkenc.ErrCorrupt, count, len(ts))
	}
	out := chunkenc.NewXORChunk()
	app, err := out.Appender()
	if err != nil {
		return nil, err
	}
	for i, t := range ts {
		if err := app.Append(t, vs[i]); err != nil {
			return nil, err
		}
	}
	out.Compact()
	return out.Bytes(), nil
}
