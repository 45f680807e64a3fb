// Command cluster measures what replication costs: the same remote-write
// load is sent to one gorilla-remote node, then to one node of a cluster of
// --nodes nodes with replication factor --rf, and the report compares the
// CPU seconds per acknowledged sample (summed over every process), the
// write latency seen by the sender and the latency of a few queries.
//
//	go build -o /tmp/gorilla-remote ./cmd/gorilla-remote
//	go run ./bench/cluster --binary /tmp/gorilla-remote --series 20000 --rounds 40
//
// Every node runs on its own loopback address (127.0.0.21, .22, ...) with
// its own storage directory and one shared filesystem bucket, all under
// --dir (a temporary directory by default, removed at the end).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

type options struct {
	binary    string
	dir       string
	out       string
	nodes, rf int
	series    int
	rounds    int
	warmup    int
	senders   int
	queryRuns int
	heartbeat time.Duration
	keep      bool
	profile   time.Duration
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "gorilla-remote binary to run (required)")
	fs.StringVar(&o.dir, "dir", "", "directory for the nodes' storage and logs (default: a temporary one)")
	fs.StringVar(&o.out, "out", "", "write the results as JSON to this file")
	fs.IntVar(&o.nodes, "nodes", 3, "nodes in the cluster")
	fs.IntVar(&o.rf, "rf", 3, "replication factor of the cluster")
	fs.IntVar(&o.series, "series", 20000, "active series")
	fs.IntVar(&o.rounds, "rounds", 40, "measured rounds (one sample of every series each)")
	fs.IntVar(&o.warmup, "warmup", 3, "rounds sent before measuring (series creation)")
	fs.IntVar(&o.senders, "senders", loadgen.DefaultSenders, "concurrent senders")
	fs.IntVar(&o.queryRuns, "query-runs", 5, "runs of each query; the median is reported")
	fs.DurationVar(&o.heartbeat, "heartbeat-timeout", 10*time.Second, "the cluster's --cluster.heartbeat-timeout")
	fs.BoolVar(&o.keep, "keep", false, "keep --dir (the nodes' data and logs) at the end")
	fs.DurationVar(&o.profile, "cpuprofile", 0, "save a CPU profile of every node over the first this long of the measured phase, as <node>.cpu.pprof beside its log (0: none; use with --keep or --dir)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.binary == "" {
		return o, fmt.Errorf("--binary is required")
	}
	if o.profile != 0 && o.profile < time.Second {
		return o, fmt.Errorf("--cpuprofile %s: at least 1s (profiles have second resolution)", o.profile)
	}
	if o.nodes < 1 || o.rf < 1 || o.rf > o.nodes {
		return o, fmt.Errorf("need 1 <= --rf (%d) <= --nodes (%d)", o.rf, o.nodes)
	}
	return o, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(o, log); err != nil {
		log.Error("cluster benchmark failed", "err", err)
		os.Exit(1)
	}
}

func run(o options, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.dir == "" {
		d, err := os.MkdirTemp("", "gorilla-cluster-bench-")
		if err != nil {
			return err
		}
		o.dir = d
	}
	if !o.keep {
		defer os.RemoveAll(o.dir)
	}
	bin, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	var results []setupResult
	for _, s := range []setup{{name: "single node", nodes: 1, rf: 1}, {name: fmt.Sprintf("%d nodes, RF=%d", o.nodes, o.rf), nodes: o.nodes, rf: o.rf}} {
		log.Info("measuring", "setup", s.name)
		r, err := measureSetup(ctx, o, bin, s, log)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		results = append(results, r)
	}
	report(os.Stdout, o, results)
	if o.out != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.out, b, 0o644)
	}
	return nil
}

// setup is one arrangement measured: a single node, or a cluster.
type setup struct {
	name      string
	nodes, rf int
}

// setupResult is what one setup measured.
type setupResult struct {
	Name          string             `json:"name"`
	Nodes         int                `json:"nodes"`
	RF            int                `json:"rf"`
	Requests      int64              `json:"requests"`
	Failed        int64              `json:"failed"`
	Samples       int64              `json:"acknowledgedSamples"`
	Seconds       float64            `json:"seconds"`
	CPUSeconds    float64            `json:"cpuSeconds"`
	CPUPerMSample float64            `json:"cpuSecondsPerMillionSamples"`
	P50Ms         float64            `json:"writeP50Ms"`
	P99Ms         float64            `json:"writeP99Ms"`
	QueryMs       map[string]float64 `json:"queryMedianMs"`
	Errors        []string           `json:"errors,omitempty"`
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
