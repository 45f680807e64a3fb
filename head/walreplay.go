package head

// ReplayedSegments returns the first and the last WAL segment Open
// replayed (the segments after the newest checkpoint), or -1, -1 if there
// was none. The WAL segment being written when Open returned is the last
// one; segments cut later are not counted.
func (h *Head) ReplayedSegments() (first, last int) { return h.replayed[0], h.replayed[1] }
