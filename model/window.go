package model

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
// nor its end, WindowStart(t, d)+d, can overflow.
func WindowStart(t, d int64) int64 {
	return FloorDiv(ClampTime(t), d) * d
}
