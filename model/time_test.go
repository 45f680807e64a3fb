package model

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestCheckTime(t *testing.T) {
	for _, tc := range []struct {
		t  int64
		ok bool
	}{
		{math.MinInt64, false}, {MinTime - 1, false}, {MinTime, true}, {-1, true}, {0, true},
		{MaxTime, true}, {MaxTime + 1, false}, {math.MaxInt64, false},
	} {
		err := CheckTime(tc.t)
		if got := err == nil; got != tc.ok || ValidTime(tc.t) != tc.ok {
			t.Fatalf("CheckTime(%d) = %v, ValidTime = %v; want ok=%v", tc.t, err, ValidTime(tc.t), tc.ok)
		}
		if err != nil && !errors.Is(err, ErrTimestampOutOfRange) {
			t.Fatalf("CheckTime(%d) = %v, want ErrTimestampOutOfRange", tc.t, err)
		}
	}
}

func TestClampTime(t *testing.T) {
	for in, want := range map[int64]int64{
		math.MinInt64: MinTime, MinTime - 1: MinTime, MinTime: MinTime, 42: 42,
		MaxTime: MaxTime, MaxTime + 1: MaxTime, math.MaxInt64: MaxTime,
	} {
		if got := ClampTime(in); got != want {
			t.Fatalf("ClampTime(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestWindowStartNeverOverflows: for every time and every window length
// up to MaxSpan, the window holds the (clamped) time and its end does not
// wrap around.
func TestWindowStartNeverOverflows(t *testing.T) {
	times := []int64{math.MinInt64, math.MinInt64 + 1, MinTime - 1, MinTime, MinTime + 1, -1, 0, 1, MaxTime - 1, MaxTime, MaxTime + 1, math.MaxInt64}
	spans := []int64{1, 2, 7, time.Hour.Milliseconds(), 2 * time.Hour.Milliseconds(), MaxSpan / 3, MaxSpan}
	for _, ts := range times {
		for _, d := range spans {
			c := ClampTime(ts)
			w := WindowStart(ts, d)
			if w > c || w+d <= c || w+d < w || FloorDiv(w, d)*d != w {
				t.Fatalf("WindowStart(%d, %d) = %d: [%d, %d) does not hold %d", ts, d, w, w, w+d, c)
			}
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, tc := range []struct{ t, d, want int64 }{
		{0, 10, 0}, {9, 10, 0}, {10, 10, 1}, {-1, 10, -1}, {-10, 10, -1}, {-11, 10, -2},
		{math.MinInt64, 1, math.MinInt64}, {math.MaxInt64, 1, math.MaxInt64}, {math.MinInt64, math.MaxInt64, -2},
	} {
		if got := FloorDiv(tc.t, tc.d); got != tc.want {
			t.Fatalf("FloorDiv(%d, %d) = %d, want %d", tc.t, tc.d, got, tc.want)
		}
	}
}
