// Package query exposes gorilla-remote's storage to the Prometheus query
// machinery: a storage.Queryable and storage.ChunkQueryable over the head
// and the sealed blocks, so that the upstream PromQL engine and remote read
// run on our data unchanged.
//
// Deletions are tombstones (tombstones.go, docs/format/tombstones.md): kept
// durably in one file under the storage directory and applied on every
// read path (tombstones_read.go). Admin (tombstones_admin.go) carries out
// the TSDB admin operations over them: delete, clean, snapshot.
package query
