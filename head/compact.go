package head

// Go maps never give back the room of deleted entries: a map that keeps
// about n entries while entries are deleted and others inserted (series
// churn: every round of new pods brings new label values and refs) keeps
// growing, as deleted slots are not reused before the map grows. The maps
// of per-series state therefore count their deletions and are rebuilt,
// sized for the entries left, once the deletions since the last rebuild
// reach half of them: O(1) per deletion amortised, and a map that held
// both the old and the new series of a churn round shrinks back once
// retention drops the old ones. Sorted posting lists shrink in the same
// way (shrunk).

// mapRebuildMin is the fewest deletions that trigger a rebuild: maps of up
// to eight entries are one group, which deletions leave reusable.
const mapRebuildMin = 8

// rebuildDue reports whether a map with live entries left after deleted
// deletions since its last rebuild should be rebuilt. Small enough to
// inline.
func rebuildDue(deleted, live int) bool {
	return deleted > mapRebuildMin && 2*deleted >= live
}

// rebuilt returns a new map with the entries of m, sized for them.
func rebuilt[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
