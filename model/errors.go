package model

import "errors"

// Errors shared by the storage packages. Callers test for them with
// errors.Is; the messages returned around them carry the details.
var (
	// ErrTimestampOutOfRange: a sample or exemplar timestamp lies outside
	// [MinTime, MaxTime], the range the store can hold and compute with
	// (see time.go). Such data is refused for good; it is a client error.
	ErrTimestampOutOfRange = errors.New("timestamp out of the range the store accepts")
)
