package main

import (
	"fmt"
	"io"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// cpuTarget is the most the cluster may spend per acknowledged sample, as
// a multiple of the single node: three copies and about 17% on top.
const cpuTarget = 3.5

// report prints the results as a Markdown table: the single node first,
// then the cluster, and the ratios.
func report(w io.Writer, o options, rs []setupResult) {
	fmt.Fprintf(w, "%d series, %d measured rounds, %d senders\n\n", o.series, o.rounds, o.senders)
	fmt.Fprintln(w, "| setup | acked samples | failed requests | CPU s / M samples | write p50 ms | write p99 ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %.2f | %.1f | %.1f |\n", r.Name, r.Samples, r.Failed, r.CPUPerMSample, r.P50Ms, r.P99Ms)
	}
	if len(rs) != 2 {
		return
	}
	one, many := rs[0], rs[1]
	if one.CPUPerMSample > 0 {
		ratio := many.CPUPerMSample / one.CPUPerMSample
		verdict := "met"
		if ratio > cpuTarget {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "\nCPU per acknowledged sample, cluster / single node: %.2f× (target ≤ %.1f×: %s)\n", ratio, cpuTarget, verdict)
	}
	fmt.Fprintln(w, "\n| query | single node ms | cluster ms | added ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, q := range loadgen.ExampleQueries() {
		a, b := one.QueryMs[q], many.QueryMs[q]
		fmt.Fprintf(w, "| `%s` | %.1f | %.1f | %+.1f |\n", q, a, b, b-a)
	}
}
