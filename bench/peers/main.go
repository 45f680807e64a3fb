package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// options are the command-line settings.
type options struct {
	scales            []load
	interval          time.Duration
	samplesPerRequest int
	senders           int
	queryStep         time.Duration
	queryRepeats      int
	spotChecks        int
	seed              uint64
	capture           string
	skipReplay        bool
	systems           []string
	install           bool
	keep              bool
	gorillaBin        string
	prometheusBin     string
	vmBin             string
	longRun           longRunOptions
	out               string
	readyTimeout      time.Duration
	render            string
	debug             bool
}

const (
	defaultScales = "100kx20,1Mx6"
	quickScales   = "20kx10,100kx4"
)

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	scales := fs.String("scales", defaultScales, "loads to run, as SERIESxROUNDS separated by commas (k and M suffixes allowed)")
	quick := fs.Bool("quick", false, "a small smoke run: -scales="+quickScales+", 3 query repeats, 200 spot checks")
	systemsFlag := fs.String("systems", strings.Join(systemOrder, ","), "systems to run, separated by commas")
	fs.DurationVar(&o.interval, "interval", 15*time.Second, "time between two samples of a series")
	fs.IntVar(&o.samplesPerRequest, "samples-per-request", 2000, "samples in one remote-write request")
	fs.IntVar(&o.senders, "senders", 4, "concurrent remote-write senders")
	fs.DurationVar(&o.queryStep, "query-step", 15*time.Second, "step of the range queries")
	fs.IntVar(&o.queryRepeats, "query-repeats", 5, "timed runs of each range query after one warm-up")
	fs.IntVar(&o.spotChecks, "spot-checks", 1000, "random samples read back in the correctness check (0: no check)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the spot-check choice")
	fs.StringVar(&o.capture, "capture", "testdata/capture/prometheus-2.42-node-300req.rw", "captured remote-write traffic for the replay phase; the default is the first 300 requests of a real capture, kept in the repository")
	fs.BoolVar(&o.skipReplay, "skip-replay", false, "skip the replay of the captured traffic")
	fs.BoolVar(&o.install, "install", true, "install missing peers with apt-get")
	fs.BoolVar(&o.keep, "keep", false, "keep the data directories and server logs")
	fs.StringVar(&o.gorillaBin, "gorilla-bin", "", "use this gorilla-remote binary instead of building one")
	fs.StringVar(&o.prometheusBin, "prometheus-bin", "prometheus", "the Prometheus binary (a bare name is looked up in PATH; `make peers-latest` builds the newest into bin/peers/)")
	fs.StringVar(&o.vmBin, "vm-bin", "victoria-metrics", "the VictoriaMetrics single-node binary (as --prometheus-bin)")
	fs.BoolVar(&o.longRun.enabled, "long-run", false, "also run the long-run phase: a full head of back-dated samples against gorilla-remote and Prometheus (see --long-run-series and --long-run-span)")
	fs.IntVar(&o.longRun.series, "long-run-series", 100000, "active series of the long-run phase")
	fs.DurationVar(&o.longRun.span, "long-run-span", 26*time.Hour, "time span of the samples of the long-run phase, ending now")
	fs.DurationVar(&o.longRun.settle, "long-run-settle", time.Minute, "wait after the long run's last write before its memory is read (sealing, uploads, head compaction)")
	fs.IntVar(&o.longRun.roundsPerBatch, "long-run-batch", 20, "rounds encoded at a time in the long-run phase (memory of the load generator: about 5 MB per 1000 series per round)")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 5*time.Minute, "longest wait for a server to become ready, after a restart too")
	fs.StringVar(&o.out, "out", "bench-peers.json", "where to write the JSON report")
	fs.BoolVar(&o.debug, "debug", false, "log load progress")
	fs.StringVar(&o.render, "render", "", "print the tables of this JSON report of an earlier run and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *quick {
		if !flagSet(fs, "scales") {
			*scales = quickScales
		}
		if !flagSet(fs, "query-repeats") {
			o.queryRepeats = 3
		}
		if !flagSet(fs, "spot-checks") {
			o.spotChecks = 200
		}
	}
	var err error
	if o.scales, err = parseScales(*scales); err != nil {
		return o, err
	}
	if o.longRun.enabled && (o.longRun.series <= 0 || o.longRun.roundsPerBatch <= 0 || o.longRun.span < 2*o.interval) {
		return o, errors.New("long run: need --long-run-series > 0, --long-run-batch > 0 and --long-run-span of two intervals or more")
	}
	o.systems = strings.Split(*systemsFlag, ",")
	for _, s := range o.systems {
		if !slices.Contains(systemOrder, s) {
			return o, fmt.Errorf("unknown system %q (want some of %v)", s, systemOrder)
		}
	}
	return o, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// parseScales reads "100kx20,1Mx6" into loads; "" is no load (with
// --skip-replay and --long-run, a run of the long-run phase alone).
func parseScales(s string) ([]load, error) {
	var out []load
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		series, rounds, ok := strings.Cut(strings.TrimSpace(part), "x")
		if !ok {
			return nil, fmt.Errorf("scale %q: want SERIESxROUNDS", part)
		}
		n, err := parseCount(series)
		if err != nil {
			return nil, fmt.Errorf("scale %q: series: %w", part, err)
		}
		r, err := strconv.Atoi(rounds)
		if err != nil || r < 2 {
			return nil, fmt.Errorf("scale %q: rounds must be a number ≥ 2", part)
		}
		out = append(out, load{name: formatCount(n), series: n, rounds: r})
	}
	return out, nil
}

// parseCount reads a positive count with an optional k (10³) or M (10⁶).
func parseCount(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1000, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1000000, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive count", s)
	}
	return n * mult, nil
}

// formatCount writes n with a k or M suffix when it is a round number.
func formatCount(n int) string {
	switch {
	case n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "M"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(2)
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if o.render != "" {
		err = render(o.render)
	} else {
		err = run(o, log)
	}
	if err != nil {
		log.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
}

func run(o options, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	procs := newProcSet()
	defer procs.killAll()
	go func() {
		// On Ctrl-C, kill the servers at once; a second Ctrl-C ends the
		// harness (the default action, restored by stop).
		<-ctx.Done()
		stop()
		procs.killAll()
	}()

	bins := binaries{prometheus: o.prometheusBin, victoria: o.vmBin}
	if o.install {
		if err := installPeers(ctx, log, bins); err != nil {
			return err
		}
	}
	warnStrangers(log)
	tmp, err := os.MkdirTemp("", "bench-peers-")
	if err != nil {
		return err
	}
	if o.keep {
		log.Info("keeping data and logs", "dir", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if bins.gorilla = o.gorillaBin; bins.gorilla == "" {
		if bins.gorilla, err = buildGorilla(ctx, tmp); err != nil {
			return err
		}
	}
	h := &harness{
		opts: o, log: log, procs: procs, tmp: tmp,
		api: &apiClient{hc: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 2 * max(o.senders, checkWorkers),
		}}},
	}
	for _, s := range systems(bins) {
		if slices.Contains(o.systems, s.name) {
			h.systems = append(h.systems, s)
		}
	}
	rep := &report{Started: time.Now().UTC(), Machine: machine(ctx, bins), Settings: settings{
		Interval: o.interval.String(), SamplesPerRequest: o.samplesPerRequest, Senders: o.senders,
		QueryStep: o.queryStep.String(), QueryRepeats: o.queryRepeats, SpotChecks: o.spotChecks,
	}}
	loads := o.scales
	if !o.skipReplay {
		loads = append(loads, load{name: phaseReplay, capture: o.capture})
	}
	fs := figures(loadgen.ExampleQueries())
	for _, l := range loads {
		if ctx.Err() != nil {
			break
		}
		s := h.runLoad(ctx, l)
		computeRatios(&s, fs)
		rep.Scales = append(rep.Scales, s)
	}
	if o.longRun.enabled && ctx.Err() == nil {
		rep.LongRun = h.runLongRun(ctx)
	}
	rep.Targets = evaluateTargets(rep.Scales)
	rep.Seconds = time.Since(rep.Started).Seconds()
	printReport(os.Stdout, rep, fs)
	if err := writeJSON(o.out, rep); err != nil {
		return err
	}
	log.Info("report written", "path", o.out, "seconds", int(rep.Seconds))
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return nil
}

// render prints the tables and targets of a JSON report.
func render(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("read report %s: %w", path, err)
	}
	printReport(os.Stdout, &rep, figures(loadgen.ExampleQueries()))
	return nil
}
