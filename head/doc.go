// Package head is gorilla-remote's in-memory store: the design of the
// Gorilla paper, made durable by a write-ahead log.
//
// Series live in a power-of-two number of lock stripes, found by the hash of
// their labels or by ref; their labels are interned symbol pairs. Each series
// holds Gorilla XOR chunks (package chunkenc), one or more per block window
// (2h by default, aligned to multiples of the window since the epoch), the
// newest one open for appending.
//
// Samples older than the newest of their series but inside the out-of-order
// window are held back to the end of their batch (a commit, or a WAL record
// during replay), sorted per series, checked against each other and against
// what is stored, and merged into the chunks of each block window they touch
// with one re-encoding of that window: O(N log N) for N such samples, plus
// one pass over each window touched. A batch bringing only a few leaves them
// in a small sorted buffer per series, which reads merge in and which is
// merged the same way once it holds 32 samples. Merging keeps every chunk
// inside its window and at most chunkenc.MaxSamples long, and the newest
// chunk open.
//
// Writes go through an Appender: Append checks each sample, Commit writes
// one batch of WAL records (package wal; the record layout is in
// docs/format/wal-records.md) and then applies the samples in memory. A
// sample is durable when Commit returns.
//
//	h, err := head.Open(head.Options{Dir: "data"})
//	app := h.Appender()
//	ref, err := app.Append(0, labels.FromStrings("__name__", "up"), ts, 1)
//	err = app.Commit()
//	series, err := h.Select(ctx, mint, maxt, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
//
// Open replays the newest checkpoint and the WAL after it. Checkpoint
// snapshots the head (chunks as they are) so the WAL can be cut short;
// Truncate releases data older than the retention.
package head
