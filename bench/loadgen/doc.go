// Package loadgen generates remote-write 1.0 traffic for benchmarks and
// read-back checks.
//
// A Workload is prepared once and then sent with Run, possibly in several
// slices of rounds. Prepare encodes every request up front (protobuf, then
// snappy), so that Run spends its CPU on HTTP only:
//
//	w, err := loadgen.Prepare(loadgen.Config{URL: url, Series: 100_000, Rounds: 10})
//	res, err := w.Run(ctx, 0, w.Rounds())
//	fmt.Println(res.SamplesPerSecond(), res.P99)
//
// # Synthetic series
//
// Series are deterministic functions of their index: two runs with the same
// Config send the same bytes, and Labels and Sample give the truth a reader
// can check against. Series come in targets of SeriesPerTarget (120) series
// each, the way a Prometheus scrape target exposes its metrics; the label
// instance names the target (Instance(n) = "10.<a>.<b>.<c>:9100" for target
// n = series/120: 10.0.0.0:9100, 10.0.0.1:9100, ...), so it is the label
// that varies most. Every series has 10 labels:
//
//	__name__ env instance job method path region service status zone
//
// except histogram buckets, which carry le instead of status. job, service,
// region, zone and env depend on the target (5 jobs, 20 services, 4 regions,
// 3 zones per region, env "production" or 1 in 10 "staging").
//
// The 120 series of a target, by kind (see MetricNames for every name):
//
//   - 48 counters (40%): 24 names, each with method="GET",status="200" and
//     method="POST",status="500". Integer increments of varying size per
//     round, never decreasing. Names end in _total, for example
//     http_requests_total and node_network_receive_bytes_total.
//   - 30 gauges (25%) with two decimals, for example temperature_celsius,
//     node_load1, process_resident_memory_bytes.
//   - 18 constants (15%), for example process_max_fds, node_cpu_count.
//   - 12 full-precision random floats (10%), for example
//     scrape_duration_seconds, node_entropy_ratio.
//   - 12 histogram buckets (10%): http_request_duration_seconds_bucket
//     with le in 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf,
//     cumulative and consistent across le in every round.
//
// ExampleQueries lists range queries that make sense over this data.
//
// # Ordering
//
// Series i belongs to sender i % Senders. A sender sends its requests
// strictly in order, round by round, so every series' samples arrive in time
// order; senders run concurrently. Within a round a sender's series are cut
// into requests of at most SamplesPerRequest samples.
//
// # Replay
//
// PrepareCapture replays a capture file (docs/format/capture.md): one round
// per captured request, each sent as the stored wire body, in capture order,
// by a single sender. One sender is the simplest way to keep every series in
// the order Prometheus sent it; Config.Senders is ignored in this mode.
package loadgen
