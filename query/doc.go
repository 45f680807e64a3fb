// Package query exposes gorilla-remote's storage to the Prometheus query
// machinery: a storage.Queryable and storage.ChunkQueryable over the head
// (and, later, over sealed blocks), so that the upstream PromQL engine and
// remote read run on our data unchanged.
package query
