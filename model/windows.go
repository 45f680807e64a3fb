package model

import (
	"fmt"
	"math"
	"time"
)

// Windows are the store's time windows, owned by one value so that every
// part of the store (the head, the block shipper, queries) cuts time the same
// way:
//
//   - a block window is Block long and aligned to multiples of Block since
//     the epoch; chunks never cross one, and each becomes one block;
//   - a window still takes out-of-order samples until the newest sample of
//     the store is OutOfOrder past its end; from then on it is closed and
//     may be sealed into a block.
//
// The zero Windows is not valid; build one with NewWindows. Windows is a
// small value, passed and compared by value.
type Windows struct {
	block int64 // ms, in [1, MaxSpan]
	ooo   int64 // ms, in [0, MaxSpan]
}

// Defaults of NewWindows.
const (
	DefaultBlockDuration    = 2 * time.Hour
	DefaultOutOfOrderWindow = time.Hour
)

// OutOfOrderOff, given to NewWindows as the out-of-order window, refuses
// every out-of-order sample: a window closes as soon as a sample past its end
// arrives. It is the one way to say "off"; zero selects the default.
const OutOfOrderOff time.Duration = -1

// NewWindows returns the windows of block length block (0 selects
// DefaultBlockDuration) that take out-of-order samples for outOfOrder (0
// selects DefaultOutOfOrderWindow, OutOfOrderOff none). block must be at
// least a millisecond; other negative values are refused. Both are whole
// milliseconds once built (sub-millisecond parts are dropped).
func NewWindows(block, outOfOrder time.Duration) (Windows, error) {
	if block == 0 {
		block = DefaultBlockDuration
	}
	switch outOfOrder {
	case 0:
		outOfOrder = DefaultOutOfOrderWindow
	case OutOfOrderOff:
		outOfOrder = 0
	}
	if block < time.Millisecond || outOfOrder < 0 {
		return Windows{}, fmt.Errorf("block duration %v must be at least 1ms and out-of-order window %v positive (or off)", block, outOfOrder)
	}
	return Windows{block: block.Milliseconds(), ooo: outOfOrder.Milliseconds()}, nil
}

// MustWindows is NewWindows for constant arguments: it panics on an error.
func MustWindows(block, outOfOrder time.Duration) Windows {
	w, err := NewWindows(block, outOfOrder)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return w
}

// Block returns the block window length in milliseconds, in [1, MaxSpan].
func (w Windows) Block() int64 { return w.block }

// OutOfOrder returns the out-of-order window in milliseconds, in [0,
// MaxSpan]; 0 when out-of-order samples are refused.
func (w Windows) OutOfOrder() int64 { return w.ooo }

// BlockDuration returns Block as a duration.
func (w Windows) BlockDuration() time.Duration { return time.Duration(w.block) * time.Millisecond }

// OutOfOrderWindow returns OutOfOrder as a duration.
func (w Windows) OutOfOrderWindow() time.Duration { return time.Duration(w.ooo) * time.Millisecond }

// Of returns the index of the block window holding t: floor(t / Block), t
// clamped to [MinTime, MaxTime] first. Window i spans [i*Block, (i+1)*Block).
func (w Windows) Of(t int64) int64 { return FloorDiv(ClampTime(t), w.block) }

// Start returns the start of the block window holding t, t clamped to
// [MinTime, MaxTime] first. Neither it nor its end, Start(t)+Block(), can
// overflow.
func (w Windows) Start(t int64) int64 { return WindowStart(t, w.block) }

// ClosedBefore returns the bound before which every window is closed when
// the newest sample is at maxT: the start of the oldest window still open,
// a multiple of Block. A window [s, s+Block) is closed once s+Block is at or
// before ClosedBefore(maxT). maxT below MinTime (math.MinInt64 is the newest
// time of an empty head) closes nothing: it returns math.MinInt64. maxT
// above MaxTime counts as MaxTime.
func (w Windows) ClosedBefore(maxT int64) int64 {
	if maxT < MinTime {
		return math.MinInt64
	}
	// ClampTime(maxT) - ooo >= MinTime - MaxSpan: no overflow.
	return w.Start(ClampTime(maxT) - w.ooo)
}

// String describes the windows for logs.
func (w Windows) String() string {
	return fmt.Sprintf("block %v, out-of-order %v", w.BlockDuration(), w.OutOfOrderWindow())
}

// FloorDiv returns floor(t / d) for d > 0, also for negative t: the index of
// the window of length d (aligned to the epoch) that holds t. It is defined
// for every int64 t; multiplying the result by d is not (see WindowStart).
func FloorDiv(t, d int64) int64 {
	q := t / d
	if t%d != 0 && t < 0 {
		q--
	}
	return q
}

// WindowStart returns the start of the window of length d (aligned to the
// epoch) that holds t, for 0 < d <= MaxSpan. t is clamped to [MinTime,
// MaxTime] first, so the result lies in [MinTime-d+1, MaxTime] and neither it
// nor its end, WindowStart(t, d)+d, can overflow. Block windows are
// Windows.Start; this serves other aligned windows (roll-up resolutions).
func WindowStart(t, d int64) int64 {
	return FloorDiv(ClampTime(t), d) * d
}
