package model

import (
	"fmt"
	"math"
	"time"
)

// MinTime and MaxTime bound every timestamp the store accepts, in
// milliseconds since the epoch, both ends included: ±2^62 ms, about
// ±146 million years.
//
// The store adds to and subtracts from timestamps: a block window, the
// out-of-order window, the retention, a query's lookback and offsets. All of
// them are time.Durations, whose length in milliseconds is below MaxSpan
// (about 2^43), so t ± d for t in [MinTime, MaxTime] stays 2^62 - 2^44 away
// from overflowing int64, and so do the window arithmetic floor(t/d)*d and
// (floor(t/d)+1)*d. The full int64 range would leave no room at all: one
// sample at math.MinInt64 made t - d wrap to a huge positive time.
//
// They are also math.MinInt64/2 and math.MaxInt64/2, the bounds the query
// API has always used for "unbounded".
const (
	MinTime int64 = -(1 << 62)
	MaxTime int64 = 1<<62 - 1
)

// MaxSpan is the longest span, in milliseconds, that the store adds to or
// subtracts from a timestamp: the longest time.Duration.
const MaxSpan = int64(math.MaxInt64 / int64(time.Millisecond))

// ValidTime reports whether t lies in [MinTime, MaxTime].
func ValidTime(t int64) bool { return t >= MinTime && t <= MaxTime }

// CheckTime returns nil when t lies in [MinTime, MaxTime], else an error
// that names t and wraps ErrTimestampOutOfRange.
func CheckTime(t int64) error {
	if ValidTime(t) {
		return nil
	}
	return fmt.Errorf("timestamp %d outside [%d, %d]: %w", t, MinTime, MaxTime, ErrTimestampOutOfRange)
}

// ClampTime returns t limited to [MinTime, MaxTime]. Query bounds are
// clamped, not refused: "from the beginning of time" is a fair question,
// and every sample the store holds lies inside the range.
func ClampTime(t int64) int64 { return min(max(t, MinTime), MaxTime) }
