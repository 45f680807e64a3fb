package head

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/gorilla-remote/gorilla-remote/wal"
)

// Codec ids of the WAL frames the head writes. They are part of the on-disk
// format (docs/format/wal.md, "Compressed frames"): never renumber them.
const (
	walCodecSnappy uint8 = 1
	walCodecZstd   uint8 = 2
)

// WALCodec returns the codec of a --wal.compression name: "zstd", "snappy",
// or "none" (nil: records are written uncompressed). Whatever the choice,
// the head reads the records of every codec back (Options.WAL.Codecs gets
// them all), so the setting can change between restarts.
func WALCodec(name string) (wal.Codec, error) {
	switch name {
	case "none":
		return nil, nil
	case "snappy":
		return snappyCodec{}, nil
	case "zstd":
		return newZstdCodec(), nil
	}
	return nil, fmt.Errorf("unknown WAL compression %q, want zstd, snappy or none", name)
}

// walCodecs returns o.Codecs with the head's codecs added whose id neither
// they nor o.Compression have, so that a WAL written under any compression
// setting replays.
func walCodecs(o wal.Options) []wal.Codec {
	var have [wal.MaxCodecID + 1]bool
	codecs := o.Codecs
	for _, c := range append([]wal.Codec{o.Compression}, codecs...) {
		if c != nil && c.ID() <= wal.MaxCodecID {
			have[c.ID()] = true
		}
	}
	if !have[walCodecSnappy] {
		codecs = append(codecs, snappyCodec{})
	}
	if !have[walCodecZstd] {
		codecs = append(codecs, newZstdCodec())
	}
	return codecs
}

// snappyCodec is snappy's block format: fast, about half the size of the
// head's records.
type snappyCodec struct{}

func (snappyCodec) ID() uint8 { return walCodecSnappy }

func (snappyCodec) Encode(dst, src []byte) []byte {
	n := len(dst)
	dst = growTo(dst, n+snappy.MaxEncodedLen(len(src)))
	return dst[:n+len(snappy.Encode(dst[n:cap(dst)], src))]
}

func (snappyCodec) Decode(dst, src []byte, limit int) ([]byte, error) {
	size, err := snappy.DecodedLen(src)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	if size > limit {
		return nil, fmt.Errorf("snappy: %d decoded bytes exceed the limit of %d", size, limit)
	}
	n := len(dst)
	dst = growTo(dst, n+size)
	out, err := snappy.Decode(dst[n:n+size], src)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	return dst[:n+len(out)], nil
}

// growTo returns b with a capacity of at least n, its contents kept.
func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

// zstdCodec is zstd at its fastest level: about a quarter of the size of
// the head's records (series records, whose labels repeat, far less), at
// a few times snappy's CPU. The encoder and decoder are made on first use,
// so a head that only reads plain records never builds them.
type zstdCodec struct {
	encOnce, decOnce sync.Once
	enc              *zstd.Encoder
	dec              *zstd.Decoder
	err              error // of making dec
}

func newZstdCodec() *zstdCodec { return &zstdCodec{} }

func (*zstdCodec) ID() uint8 { return walCodecZstd }

func (c *zstdCodec) Encode(dst, src []byte) []byte {
	c.encOnce.Do(func() {
		// Records are at most a few MiB and each is compressed alone, so a
		// larger window would only cost memory. No checksum: the frame
		// has its own CRC.
		c.enc, _ = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(2*runtime.GOMAXPROCS(0)),
			zstd.WithEncoderCRC(false),
			zstd.WithWindowSize(1<<20),
			zstd.WithLowerEncoderMem(true))
	})
	if c.enc == nil {
		// Not shorter than src: the WAL writes the record uncompressed.
		return append(dst, src...)
	}
	return c.enc.EncodeAll(src, dst)
}

func (c *zstdCodec) Decode(dst, src []byte, limit int) ([]byte, error) {
	c.decOnce.Do(func() {
		c.dec, c.err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(uint64(wal.MaxSegmentSize)))
	})
	if c.err != nil {
		return nil, fmt.Errorf("zstd: %w", c.err)
	}
	n := len(dst)
	out, err := c.dec.DecodeAll(src, dst)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if len(out)-n > limit {
		return nil, fmt.Errorf("zstd: %d decoded bytes exceed the limit of %d", len(out)-n, limit)
	}
	return out, nil
}
