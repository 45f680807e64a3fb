package block

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// zstdLevel is the compression level of dense chunks. The best level
// compresses the small frames of chunks no better with a dictionary and
// costs far more: it copies its large tables for every frame.
const zstdLevel = zstd.SpeedBetterCompression

// maxDenseBytes bounds what one dense chunk may decompress to: 65535
// samples of at most 30 bytes each in the dense layout, with room to spare.
const maxDenseBytes = 4 << 20

// zstdCodec compresses dense chunk bodies. Both directions are safe for
// concurrent use.
type zstdCodec struct {
	enc  *zstd.Encoder
	dec  *zstd.Decoder
	dict bool // frames are written with the block's dictionary
}

// newZstdCodec returns a codec tuned for sealed blocks: written once, so
// a strong compression level; small frames without checksums, since the chunk
// segment already checks every chunk with a CRC32. dict, when not nil, is
// the block's dictionary: frames are written with it, and frames naming it
// can be read.
func newZstdCodec(dict []byte) (*zstdCodec, error) {
	eopts := []zstd.EOption{
		zstd.WithEncoderLevel(zstdLevel),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false),
		zstd.WithSingleSegment(true),
	}
	// Every open block holds a decoder: two concurrent decodes (a block is
	// read by one goroutine per query) and small buffers keep that cheap.
	dopts := []zstd.DOption{
		zstd.WithDecoderConcurrency(2),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(maxDenseBytes),
	}
	if dict != nil {
		eopts = append(eopts, zstd.WithEncoderDict(dict))
		dopts = append(dopts, zstd.WithDecoderDicts(dict))
	}
	enc, err := zstd.NewWriter(nil, eopts...)
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, dopts...)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &zstdCodec{enc: enc, dec: dec, dict: dict != nil}, nil
}

// compress appends the zstd frame of src to dst.
func (z *zstdCodec) compress(dst, src []byte) []byte {
	return z.enc.EncodeAll(src, dst)
}

// decompress returns the content of a zstd frame, at most maxDenseBytes.
func (z *zstdCodec) decompress(src []byte) ([]byte, error) {
	out, err := z.dec.DecodeAll(src, nil)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	return out, nil
}

// Close releases the codec's goroutines and buffers.
func (z *zstdCodec) Close() {
	_ = z.enc.Close()
	z.dec.Close()
}
