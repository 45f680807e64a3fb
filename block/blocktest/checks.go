package blocktest

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// smp is shorthand for a sample.
func smp(t int64, v float64) model.Sample { return model.Sample{T: t, V: v} }

// ser is shorthand for a series named name.
func ser(name string, samples ...model.Sample) series {
	return series{lset: labels.FromStrings("__name__", name), samples: samples}
}

// windowData appends, for the window [bd, 2bd) and its neighbours, series
// inserted out of label order and one sample out of time order, and
// returns what WindowSeries must give for [bd, 2bd-1].
func windowData(s Source) ([]series, error) {
	bd := s.BlockDuration.Milliseconds()
	err := appendAll(s,
		ser("zeta", smp(bd-500, -1), smp(bd+1000, 1), smp(bd+3000, 3)),
		ser("alpha", smp(bd+1500, 10)),
		ser("zeta", smp(bd+2000, 2)), // out of order, merged into the window
		ser("zeta", smp(2*bd+1000, 4)),
		ser("only_next", smp(2*bd+500, 20)),
	)
	return []series{
		ser("alpha", smp(bd+1500, 10)),
		ser("zeta", smp(bd+1000, 1), smp(bd+2000, 2), smp(bd+3000, 3)),
	}, err
}

// checkEmpty: with no samples MinTime is math.MaxInt64, MaxTime
// math.MinInt64, and a window has no series.
func checkEmpty(s Source) error {
	if got := s.MinTime(); got != math.MaxInt64 {
		return fmt.Errorf("MinTime of an empty source: got %d, want math.MaxInt64", got)
	}
	if got := s.MaxTime(); got != math.MinInt64 {
		return fmt.Errorf("MaxTime of an empty source: got %d, want math.MinInt64", got)
	}
	bd := s.BlockDuration.Milliseconds()
	return expectWindow(s, 0, bd-1, nil)
}

// checkTimeRange: MinTime is the oldest sample (out-of-order ones
// included), MaxTime the newest.
func checkTimeRange(s Source) error {
	bd := s.BlockDuration.Milliseconds()
	if err := appendAll(s, ser("a", smp(bd+5000, 1)), ser("b", smp(bd+9000, 2)), ser("a", smp(bd+1000, 3))); err != nil {
		return err
	}
	if got, want := s.MinTime(), bd+1000; got != want {
		return fmt.Errorf("MinTime: got %d, want %d", got, want)
	}
	if got, want := s.MaxTime(), bd+9000; got != want {
		return fmt.Errorf("MaxTime: got %d, want %d", got, want)
	}
	return nil
}

// checkWindow: WindowSeries gives every series with samples in the window,
// sorted by labels, with chunks wholly inside it holding exactly its
// samples, out-of-order ones merged in.
func checkWindow(s Source) error {
	want, err := windowData(s)
	if err != nil {
		return err
	}
	bd := s.BlockDuration.Milliseconds()
	return expectWindow(s, bd, 2*bd-1, want)
}

// checkCancelled: WindowSeries with a cancelled context fails with an error
// matching the context's.
func checkCancelled(s Source) error {
	if _, err := windowData(s); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	bd := s.BlockDuration.Milliseconds()
	_, err := s.WindowSeries(ctx, bd, 2*bd-1)
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("WindowSeries with a cancelled context: got error %v, want context.Canceled", err)
	}
	return nil
}

// checkSeal: after SealBefore(t) a sample older than t fails with
// model.ErrOutOfWindow, also for a new series; t itself is taken; a lower
// bound later does not reopen anything; the sealed window keeps its data.
func checkSeal(s Source) error {
	want, err := windowData(s)
	if err != nil {
		return err
	}
	bd := s.BlockDuration.Milliseconds()
	s.SealBefore(2 * bd)
	if err := s.Append(labels.FromStrings("__name__", "late"), 2*bd-1, 1); !errors.Is(err, model.ErrOutOfWindow) {
		return fmt.Errorf("sample before the sealed bound: got error %v, want model.ErrOutOfWindow", err)
	}
	if err := s.Append(labels.FromStrings("__name__", "late"), 2*bd, 1); err != nil {
		return fmt.Errorf("sample at the sealed bound: %w", err)
	}
	s.SealBefore(bd)
	if err := s.Append(labels.FromStrings("__name__", "later"), 2*bd-1, 1); !errors.Is(err, model.ErrOutOfWindow) {
		return fmt.Errorf("after a lower SealBefore: got error %v, want model.ErrOutOfWindow", err)
	}
	return expectWindow(s, bd, 2*bd-1, want)
}

// checkWindows: Windows is the source's window length (BlockDuration),
// and every chunk of a window's series lies in one window of it, so a
// shipper that asks Windows which windows are closed seals whole ones.
func checkWindows(s Source) error {
	bd := s.BlockDuration.Milliseconds()
	if got := s.Windows().Block(); got != bd {
		return fmt.Errorf("Windows().Block() = %d ms, the source cuts chunks at %d ms", got, bd)
	}
	if _, err := windowData(s); err != nil {
		return err
	}
	cs, err := s.WindowSeries(context.Background(), math.MinInt64, math.MaxInt64)
	if err != nil {
		return fmt.Errorf("window series: %w", err)
	}
	w := s.Windows()
	for _, c := range cs {
		for _, ch := range c.Chunks {
			if w.Of(ch.MinT) != w.Of(ch.MaxT) {
				return fmt.Errorf("series %s: chunk [%d, %d] crosses a window of %s", c.Labels, ch.MinT, ch.MaxT, w)
			}
		}
	}
	return nil
}

// checkShipped: SetShipped only tells the source what object storage
// holds; what it serves stays the same (it may release that data later,
// by its retention).
func checkShipped(s Source) error {
	want, err := windowData(s)
	if err != nil {
		return err
	}
	minT, maxT := s.MinTime(), s.MaxTime()
	bd := s.BlockDuration.Milliseconds()
	s.SetShipped(2 * bd)
	if s.MinTime() != minT || s.MaxTime() != maxT {
		return fmt.Errorf("after SetShipped: time range [%d, %d], was [%d, %d]", s.MinTime(), s.MaxTime(), minT, maxT)
	}
	return expectWindow(s, bd, 2*bd-1, want)
}
