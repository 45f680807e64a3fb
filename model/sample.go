package model

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"
)

// Sample is one float sample: a millisecond timestamp and its value.
type Sample struct {
	T int64
	V float64
}

// StaleNaN is the bit pattern Prometheus writes to mark a series stale. It is
// a NaN, so it never compares equal to itself; compare bits with IsStaleNaN.
const StaleNaN uint64 = 0x7ff0000000000002

// IsStaleNaN reports whether v carries the stale-marker bit pattern.
func IsStaleNaN(v float64) bool { return math.Float64bits(v) == StaleNaN }

// SameValue reports whether two sample values are identical bit for bit, so
// that two NaNs with the same payload are equal and 0 and -0 are not. It is
// the equality used to recognise a retried sample.
func SameValue(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// Hash returns the hash that identifies a series by its label set. Two label
// sets with the same names and values, in any build of the labels package,
// hash the same.
func Hash(lset labels.Labels) uint64 { return lset.Hash() }
