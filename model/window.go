package model

// FloorDiv returns floor(t / d) for d > 0, also for negative t: the index of
// the window of length d (aligned to the epoch) that holds t.
func FloorDiv(t, d int64) int64 {
	q := t / d
	if t%d != 0 && t < 0 {
		q--
	}
	return q
}
