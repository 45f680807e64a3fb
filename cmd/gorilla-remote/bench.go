package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// errRequestsFailed makes the bench command exit with status 1 after it
// printed its summary.
type errRequestsFailed struct{ n int64 }

func (e errRequestsFailed) Error() string { return fmt.Sprintf("%d requests failed", e.n) }

type benchCommand struct {
	cmd      *kingpin.CmdClause
	url      string
	series   int
	rounds   int
	senders  int
	batch    int
	interval time.Duration
	replay   string
	headers  []string
}

func newBenchCommand(app *kingpin.Application) *benchCommand {
	c := &benchCommand{cmd: app.Command("bench", "Send remote-write 1.0 load to an endpoint and report throughput and latency. "+
		"Synthetic series (10 labels each: counters, gauges, constants, random floats, a histogram) are encoded before sending starts; "+
		"--replay sends a capture file instead. Exits with status 1 if any request failed.")}
	c.cmd.Flag("url", "Remote-write endpoint, e.g. http://127.0.0.1:9201/api/v1/write.").Required().StringVar(&c.url)
	c.cmd.Flag("series", "Active series (synthetic mode).").Default("10000").IntVar(&c.series)
	c.cmd.Flag("rounds", "Samples per series: each round sends one sample of every series.").Default("10").IntVar(&c.rounds)
	c.cmd.Flag("senders", "Concurrent senders; each owns a share of the series and sends in time order.").Default("4").IntVar(&c.senders)
	c.cmd.Flag("batch", "Samples per request.").Default("2000").IntVar(&c.batch)
	c.cmd.Flag("interval", "Timestamp step between rounds.").Default("15s").DurationVar(&c.interval)
	c.cmd.Flag("replay", "Replay this capture file (docs/format/capture.md) instead of synthetic series, with one sender.").PlaceHolder("FILE").StringVar(&c.replay)
	c.cmd.Flag("header", "Extra request header KEY=VALUE; repeatable.").PlaceHolder("KEY=VALUE").StringsVar(&c.headers)
	return c
}

func (c *benchCommand) run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.exec(ctx, os.Stdout, os.Stderr)
}

// exec prepares and sends the workload, printing progress to progress and
// the summary to out.
func (c *benchCommand) exec(ctx context.Context, out, progress io.Writer) error {
	cfg := loadgen.Config{
		URL: c.url, Series: c.series, Rounds: c.rounds, Senders: c.senders,
		SamplesPerRequest: c.batch, Interval: c.interval, Header: http.Header{},
	}
	for _, h := range c.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return fmt.Errorf("--header %q: want KEY=VALUE", h)
		}
		cfg.Header.Add(k, v)
	}
	cfg.Progress = func(p loadgen.Progress) {
		fmt.Fprintf(progress, "%8.1fs  %12d samples  %10.0f samples/s  %6d requests  %4d failed\n",
			p.Elapsed.Seconds(), p.Samples, float64(p.Samples)/max(p.Elapsed.Seconds(), 1e-9), p.Requests, p.Failed)
	}

	t0 := time.Now()
	var w *loadgen.Workload
	var err error
	if c.replay != "" {
		w, err = loadgen.PrepareCapture(c.replay, cfg)
	} else {
		w, err = loadgen.Prepare(cfg)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "prepared %d samples of %d series in %d rounds in %v\n",
		w.SamplesIn(0, w.Rounds()), w.Series(), w.Rounds(), time.Since(t0).Round(time.Millisecond))

	res, err := w.Run(ctx, 0, w.Rounds())
	printBenchSummary(out, w, res)
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return errRequestsFailed{res.Failed}
	}
	return nil
}

func printBenchSummary(out io.Writer, w *loadgen.Workload, res loadgen.Result) {
	fmt.Fprintf(out, "samples acknowledged  %d of %d\n", res.Samples, w.SamplesIn(0, w.Rounds()))
	fmt.Fprintf(out, "requests              %d\n", res.Requests)
	fmt.Fprintf(out, "failed                %d\n", res.Failed)
	fmt.Fprintf(out, "elapsed               %v\n", res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "samples/s             %.0f\n", res.SamplesPerSecond())
	fmt.Fprintf(out, "latency p50/p99/max   %v / %v / %v\n",
		res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.Max.Round(time.Microsecond))
	for i, e := range res.Errors {
		fmt.Fprintf(out, "error %d               %s\n", i+1, e)
	}
}
