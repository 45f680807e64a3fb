// Package importmap holds no code: its test enforces the import rules of the
// module, written down in docs/packages.md.
//
// The test runs `go list -deps` over the module and fails when a package
// imports one of ours that its row of the table does not allow, when a
// stdlib-only package (chunkenc, wal) imports anything outside the standard
// library, when a storage package (chunkenc, wal, model, head, block, query)
// imports net/http itself, when the query path (query, promql) links a cloud
// storage SDK, or when a package has no row at all. Only the packages' own
// imports are checked: tests may use any package.
//
// Adding a package means adding its row to the table in importmap_test.go.
package importmap
