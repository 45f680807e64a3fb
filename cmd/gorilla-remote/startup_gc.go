package main

import (
	"os"
	"runtime/debug"
)

// startupGCPercent is the garbage collector's target while the storage
// opens. WAL replay allocates mostly what it keeps (series, chunks, the
// index), so collecting at every doubling of the heap spends about 15% of the
// replay's CPU marking memory that stays live; at 400 the collector runs a
// few times instead, for a peak heap about a fifth above the one replay
// leaves behind (measured on a WAL of a million series). The collection
// that the restored target calls for then runs once the server allocates
// again, concurrently with serving, as any collection does: it costs a
// fraction of what the replay saved, and the first queries after ready
// share the CPU with it.
const startupGCPercent = 400

// raiseGCForStartup raises the garbage collector's target for the
// replay and returns the function that restores the previous one. It
// leaves the target alone when the operator chose one (the GOGC
// environment variable) or the current one is already higher.
func raiseGCForStartup() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	prev := debug.SetGCPercent(startupGCPercent)
	if prev < 0 || prev >= startupGCPercent {
		debug.SetGCPercent(prev)
		return func() {}
	}
	return func() { debug.SetGCPercent(prev) }
}
