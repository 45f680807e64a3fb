// Package model holds the small types every other package of gorilla-remote
// shares: a sample, the series hash, the range of timestamps the store
// accepts (time.go), the shared sentinel errors and the reader for
// remote-write captures. It depends only on the standard library and the
// Prometheus labels package, which it uses as it is.
package model
