// Package remote serves the Prometheus remote-write and remote-read
// protocols over HTTP.
//
// The write handler accepts remote write 1.0 (prometheus.WriteRequest) and
// 2.0 (io.prometheus.write.v2.Request) bodies, validates every series and
// hands the good samples to an Appendable; the read handler answers
// prometheus.ReadRequest queries from a storage.Queryable, either as one
// snappy-compressed ReadResponse or as a stream of XOR chunks.
//
// Typical wiring:
//
//	write, err := remote.NewWriteHandler(store, remote.WriteOptions{Registerer: reg, Logger: logger})
//	if err != nil {
//		return fmt.Errorf("remote write: %w", err)
//	}
//	read, err := remote.NewReadHandler(queryable, remote.ReadOptions{Registerer: reg, Logger: logger})
//	if err != nil {
//		return fmt.Errorf("remote read: %w", err)
//	}
//	mux.Handle("/api/v1/write", write)
//	mux.Handle("/api/v1/read", read)
//
// A write request goes through these checks, in order, each answered with its
// own status code so that a sender knows whether to retry:
//
//	method POST ─────────────────────────── 405
//	Content-Type / Content-Encoding ──────── 415 (before the body is read)
//	requests in flight < MaxInflight ─────── 503 + Retry-After
//	compressed size ≤ MaxCompressedBytes ─── 413
//	decoded length ≤ tenant's max_request_bytes
//	  (else MaxDecodedBytes) ─────────────── 413 (before allocating)
//	snappy + protobuf decode ─────────────── 400
//	a field of the declared message ──────── 400 (and, 2.0, symbols[0] == "")
//	tenant's ingestion rate (limits) ─────── 429 + Retry-After, nothing stored
//	per series: labels, limits, timestamps ─ 400 for the bad ones only
//	store: new series over a series limit ── 400 for those series only
//	store: new series near the memory limit  503 + Retry-After, the rest stored
//	store: Append / Commit ───────────────── 400, 503 or 500
//
// The protocol, status codes and limits are described for operators in
// docs/remote-write.md, docs/limits.md and docs/remote-read.md.
package remote
