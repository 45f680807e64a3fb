package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/demo"
)

// demoCommand is `gorilla-remote demo`, over package demo.
type demoCommand struct {
	cmd  *kingpin.CmdClause
	opts demo.Options
}

func newDemoCommand(app *kingpin.Application) *demoCommand {
	c := &demoCommand{cmd: app.Command("demo", "Start a server on a temporary directory, write synthetic series to it over remote write, "+
		"and show compression, a PromQL range query, a correlation and an autocorrelation; then stop and clean up.")}
	c.cmd.Flag("series", "Synthetic series to write.").Default("2000").IntVar(&c.opts.Series)
	c.cmd.Flag("rounds", "Samples per synthetic series, 15s apart, ending now.").Default("120").IntVar(&c.opts.Rounds)
	c.cmd.Flag("keep", "Keep the data directory and print its path.").BoolVar(&c.opts.Keep)
	c.cmd.Flag("web.listen-address", "Address of the demo server; port 0 picks a free port.").Default("127.0.0.1:0").StringVar(&c.opts.Listen)
	return c
}

func (c *demoCommand) run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.exec(ctx, os.Stdout, os.Stderr)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("demo interrupted: %w", err)
	}
	return err
}

// exec checks the flags and runs the demo with a serve command's server.
func (c *demoCommand) exec(ctx context.Context, out, progress io.Writer) error {
	if c.opts.Series <= 0 || c.opts.Rounds <= 0 {
		return fmt.Errorf("demo: need --series > 0 and --rounds > 0, got %d and %d", c.opts.Series, c.opts.Rounds)
	}
	opts := c.opts
	opts.Version = readBuildInfo().Version
	opts.Start = startDemoServer
	return demo.Run(ctx, opts, out, progress)
}

// defaultSettings returns the serve command's settings with every flag at
// its default, read from the flag definitions themselves.
func defaultSettings() (settings, error) {
	app := kingpin.New("gorilla-remote", "")
	cmd := app.Command("serve", "")
	var f flagSet
	f.register(cmd)
	if _, err := app.Parse([]string{"serve"}); err != nil {
		return settings{}, fmt.Errorf("BUG: default settings: %w", err)
	}
	return f.resolve()
}

// startDemoServer is the demo's StartFunc: a server of the serve command
// with its defaults, on dir and addr, with a registry of its own.
func startDemoServer(dir, addr string, logger *slog.Logger) (demo.Server, error) {
	s, err := defaultSettings()
	if err != nil {
		return nil, err
	}
	s.StoragePath, s.ListenAddress = dir, addr
	rs := &runningServer{srv: newServer(s, logger, prometheus.NewRegistry()), done: make(chan struct{})}
	go func() {
		defer close(rs.done)
		rs.err = rs.srv.run()
	}()
	return rs, nil
}

// runningServer is a server running in this process (demo.Server).
type runningServer struct {
	srv  *server
	done chan struct{} // closed when run has returned
	err  error         // run's error, set before done is closed
}

func (r *runningServer) Done() <-chan struct{} { return r.done }

// Stop shuts the server down as SIGTERM would, without a signal: closing
// srv.closed makes the storage actor close the head and return, and the
// group then shuts the HTTP server down. The storage goes first, unlike on
// SIGTERM; that is safe for the demo, which has no request in flight by
// then.
func (r *runningServer) Stop() error {
	r.srv.once.Do(func() { close(r.srv.closed) })
	<-r.done
	return r.err
}
