package model

import (
	"math"
	"testing"
	"time"
)

func TestNewWindows(t *testing.T) {
	for _, tc := range []struct {
		block, ooo     time.Duration
		wantB, wantOOO int64
		wantErr        bool
	}{
		{0, 0, 2 * 3600_000, 3600_000, false},
		{time.Minute, OutOfOrderOff, 60_000, 0, false},
		{time.Minute, time.Second, 60_000, 1000, false},
		{time.Microsecond, 0, 0, 0, true},
		{-time.Hour, 0, 0, 0, true},
		{time.Hour, -2, 0, 0, true},
	} {
		w, err := NewWindows(tc.block, tc.ooo)
		if (err != nil) != tc.wantErr {
			t.Fatalf("NewWindows(%v, %v) error = %v, want error %v", tc.block, tc.ooo, err, tc.wantErr)
		}
		if err == nil && (w.Block() != tc.wantB || w.OutOfOrder() != tc.wantOOO) {
			t.Fatalf("NewWindows(%v, %v) = %v, want block %d ms, out-of-order %d ms", tc.block, tc.ooo, w, tc.wantB, tc.wantOOO)
		}
	}
}

func TestWindowsOfStartClosedBefore(t *testing.T) {
	w := MustWindows(10*time.Millisecond, 3*time.Millisecond)
	for _, tc := range []struct{ t, of, start, closedBefore int64 }{
		{0, 0, 0, -10},
		{12, 1, 10, 0},
		{13, 1, 10, 10},
		{-1, -1, -10, -10},
		{-7, -1, -10, -10},
		{-8, -1, -10, -20},
	} {
		if got := w.Of(tc.t); got != tc.of {
			t.Fatalf("Of(%d) = %d, want %d", tc.t, got, tc.of)
		}
		if got := w.Start(tc.t); got != tc.start {
			t.Fatalf("Start(%d) = %d, want %d", tc.t, got, tc.start)
		}
		if got := w.ClosedBefore(tc.t); got != tc.closedBefore {
			t.Fatalf("ClosedBefore(%d) = %d, want %d", tc.t, got, tc.closedBefore)
		}
	}
	if got := w.ClosedBefore(math.MinInt64); got != math.MinInt64 {
		t.Fatalf("ClosedBefore(empty) = %d, want math.MinInt64", got)
	}
}

// TestWindowsNeverOverflow: at both ends of the accepted range, with the
// longest windows, the bounds stay ordered and do not wrap around.
func TestWindowsNeverOverflow(t *testing.T) {
	maxD := time.Duration(math.MaxInt64)
	for _, w := range []Windows{MustWindows(time.Millisecond, OutOfOrderOff), MustWindows(maxD, maxD), MustWindows(0, 0)} {
		for _, ts := range []int64{math.MinInt64 + 1, MinTime, MinTime + 1, -1, 0, MaxTime, math.MaxInt64} {
			s, cb := w.Start(ts), w.ClosedBefore(ts)
			c := ClampTime(ts)
			if ts < MinTime {
				if cb != math.MinInt64 {
					t.Fatalf("%v: ClosedBefore(%d) = %d, want math.MinInt64", w, ts, cb)
				}
				continue
			}
			if s > c || s+w.Block() <= c || cb > s || FloorDiv(cb, w.Block())*w.Block() != cb {
				t.Fatalf("%v at %d: Start %d, ClosedBefore %d", w, ts, s, cb)
			}
		}
	}
}
