// Command peers runs gorilla-remote, Prometheus and VictoriaMetrics side by
// side under the same remote-write load and reports how they compare:
//
//	go run ./bench/peers            # the full run, about 8 minutes on 2 cores
//	go run ./bench/peers --quick    # a smoke run
//	make bench-peers-latest         # against Prometheus 3.16 and VictoriaMetrics 1.151
//	go run ./bench/peers --long-run # also fill a full head (26 h of samples)
//
// Each system runs on loopback, on a fresh data directory, one at a time, fed
// by bench/loadgen. For every load (a number of active series and rounds, and
// the replay of a captured Prometheus) it measures ingestion, server CPU per
// sample, memory, bytes per sample on disk, range-query latency and the
// restart after kill -9, checks the data read back from each system, prints a
// table with gorilla-remote's ratio to each peer and the targets, and writes
// everything as JSON. gorilla-remote runs twice, the second time with
// --wal.fsync=always. The long-run phase, when asked for, fills
// gorilla-remote and Prometheus with a full head of back-dated samples and
// reads their memory at full retention. docs/benchmarks.md says what each
// figure counts.
//
// Files by concern: procs.go starts and stops servers and reads /proc,
// systems.go defines the systems, version.go tells which release each peer
// binary is, measure.go and check.go take the figures, longrun.go runs the
// long-run phase, figures.go turns them into ratios and targets, report.go
// prints them.
package main
