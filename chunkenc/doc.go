// Package chunkenc encodes float samples into Gorilla-style XOR chunks that are
// byte-for-byte identical to the Prometheus XOR chunk (chunk encoding 1).
//
// Keeping the exact Prometheus format means remote read can stream chunks as
// they are stored and sealed blocks can be read by Prometheus tooling, without
// any re-encoding. The byte and bit layout is specified in
// docs/format/chunk.md; in short:
//
//	+--------------+------------------+------------------------------------+
//	| count uint16 | sample 0         | sample 1         | samples 2..n-1  |
//	| big endian   | varint t, 64b v  | uvarint Δt, xor v | dod t, xor v   |
//	+--------------+------------------+------------------------------------+
//	  byte aligned   byte aligned       byte aligned        bit packed
//
// Writing:
//
//	c := chunkenc.NewXORChunk()
//	app, _ := c.Appender()
//	for _, s := range samples {
//		if err := app.Append(s.T, s.V); errors.Is(err, chunkenc.ErrChunkFull) {
//			// cut a new chunk
//		}
//	}
//	c.Compact()
//	store(c.Bytes())
//
// Reading:
//
//	it := chunkenc.NewIterator(stored)
//	for it.Next() {
//		t, v := it.At()
//	}
//	if err := it.Err(); err != nil { // wraps ErrCorrupt
//	}
//
// The package depends on the standard library only. Decoding never panics
// and always terminates on arbitrary input; malformed chunks are reported as
// errors wrapping ErrCorrupt.
package chunkenc
