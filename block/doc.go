// Package block turns closed time windows into Prometheus TSDB blocks, ships
// them to object storage and reads them back through a local disk cache.
//
// A block is a directory named by its ULID (docs/format/block.md):
//
//	01J.../
//	├── chunks/
//	│   ├── 000001     chunks (XOR, XOR2 or dense), each framed as
//	│   └── 000002     uvarint len | encoding byte | data | crc32c
//	├── index          Prometheus index v2: symbols, series, postings
//	├── dense.dict     dense blocks only, when it pays: the zstd dictionary
//	└── meta.json      time range, stats, compaction and the Thanos section
//
// Writing a window and uploading it:
//
//	meta, err := block.Write(ctx, dir, mint, maxt, series, block.WriteOptions{})
//	err = block.Upload(ctx, bkt, filepath.Join(dir, meta.ULID.String()))
//
// Upload sends meta.json last and Delete removes it first, so a block
// directory in the bucket without meta.json is incomplete and every reader
// ignores it. Reading:
//
//	s, _ := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: cache})
//	_ = s.Sync(ctx)
//	for _, m := range s.Metas(mint, maxt) {
//		b, release, err := s.Open(ctx, m.ULID)
//		series, err := b.Select(ctx, mint, maxt, matchers...)
//		release()
//	}
//
// With the default encoding (WriteOptions.Encoding, EncodingXOR) blocks are
// byte-for-byte Prometheus blocks: promtool, Prometheus and the Thanos tools
// read them, and chunks are written exactly as the head sealed them, which
// may be up to 65535 samples and the whole window per chunk. EncodingXOR2
// blocks are read by Prometheus 3.16 and later; EncodingDense blocks by this
// package only. Select returns XOR chunks whatever the block stores.
package block
