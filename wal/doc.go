// Package wal is a segmented, checksummed write-ahead log of opaque byte
// records. It knows nothing about what a record holds: the head package
// defines that (docs/format/wal-records.md). The on-disk format, the repair
// rules and the checkpoint procedure are specified in docs/format/wal.md.
//
// A WAL directory holds numbered segment files and at most one completed
// checkpoint, itself a directory of segments:
//
//	dir/
//	├── checkpoint.00000006/      records summarising segments 0..6
//	│   ├── 00000000
//	│   └── 00000001
//	├── 00000007                  segments, at most SegmentSize bytes each
//	├── 00000008
//	└── 00000009                  the segment being appended to
//
// Every segment is a sequence of frames, and a record never spans segments:
//
//	+-------------------+----------------+-------------------+
//	| codec<<28|length  | CRC32C uint32  | payload           |
//	| uint32, little e. | of the payload | length bytes (>0) |
//	+-------------------+----------------+-------------------+
//
// The codec id is 0 for an uncompressed payload; otherwise the payload is
// the record compressed by the Codec of that id (Options.Compression to
// write, the codecs given to NewReader to read) and the CRC covers the id
// byte too.
//
// Writing:
//
//	w, err := wal.Open(dir, wal.Options{Fsync: wal.FsyncInterval, Compression: codec}) // codec may be nil
//	...
//	if err := w.Log(rec1, rec2); err != nil { // both written, adjacent
//		return err // after an I/O error: ErrUnavailable until Recover
//	}
//	defer w.Close()
//
// Recovering from a full disk or a failed fsync, in the owner's goroutine:
//
//	<-w.Failed()
//	for {
//		rec, err := w.Recover() // cuts the torn tail, starts a new segment
//		if err == nil {
//			if rec.AckedBytesCut > 0 {
//				// checkpoint from memory: see Recovery
//			}
//			break
//		}
//		time.Sleep(backoff)
//	}
//
// Replaying, after Open has repaired the last segment (and, with
// Options.Repair, every segment):
//
//	path, upTo, err := wal.LastCheckpoint(dir)
//	if err == nil {
//		r, _ := wal.NewCheckpointReader(path, w.Codecs()...) // read all of it first
//		...
//	} else if errors.Is(err, wal.ErrNoCheckpoint) {
//		upTo = -1
//	}
//	r, err := wal.NewReader(dir, upTo+1, -1, w.Codecs()...) // decodes compressed frames
//	for r.Next() {
//		apply(r.Record())
//	}
//	if err := r.Err(); errors.Is(err, wal.ErrCorrupt) { // a *CorruptionError
//	}
//
// Truncating, once segments up to n are summarised elsewhere:
//
//	next, _ := w.Cut() // n = next-1 is no longer written
//	err := w.Checkpoint(next-1, func(log func([]byte) error) error {
//		return log(liveState) // compressed as Log compresses
//	})
//
// The package depends on the standard library only; metrics are exported
// through Options.ObserveFsync and WAL.Stats.
package wal
