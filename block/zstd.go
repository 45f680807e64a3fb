package block

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// maxDenseBytes bounds what one dense chunk may decompress to: 65535
// samples of at most 30 bytes each in the dense layout, with room to spare.
const maxDenseBytes = 4 << 20

// zstdCodec compresses dense chunk bodies. Both directions are safe for
// concurrent use.
type zstdCodec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// newZstdCodec returns a codec tuned for sealed blocks: written once, so
// the best compression; small frames without checksums, since the chunk
// segment already checks every chunk with a CRC32.
func newZstdCodec() (*zstdCodec, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false),
		zstd.WithSingleSegment(true))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	// Every open block holds a decoder: two concurrent decodes (a block is
	// read by one goroutine per query) and small buffers keep that cheap.
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(2),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(maxDenseBytes))
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &zstdCodec{enc: enc, dec: dec}, nil
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
