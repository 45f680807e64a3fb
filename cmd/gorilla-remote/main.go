// Command gorilla-remote is a Prometheus remote-write backend built on the
// in-memory design of Facebook's Gorilla: remote write in, remote read and
// PromQL out, durable through a write-ahead log.
//
// The server is the default command: `gorilla-remote` and `gorilla-remote
// serve` are the same, and `gorilla-remote --help` lists the server's flags
// and the other commands (bench, compress, demo). docs/configuration.md
// lists every flag of every command with its config-file key; docs/ in the
// repository describes the formats and the endpoints.
//
// This package is wiring only: flags, the config file, the logger, the
// metrics registry and the oklog/run group. What the commands do lives in
// packages (demo/, bench/compress/, bench/loadgen/ and the storage).
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
)

// commands are the parsed command line's commands.
type commands struct {
	serve    *serveCommand
	bench    *benchCommand
	compress *compressCommand
	demo     *demoCommand
}

// newApp builds the command line: every command and flag. Tests walk its
// model to compare it with docs/configuration.md.
func newApp() (*kingpin.Application, *commands) {
	app := kingpin.New("gorilla-remote", "A Prometheus-compatible remote-write backend on Gorilla-compressed memory and a write-ahead log.")
	app.Version(versionString(readBuildInfo()))
	app.HelpFlag.Short('h')
	app.UsageTemplate(usageTemplate)
	return app, &commands{
		serve:    newServeCommand(app),
		bench:    newBenchCommand(app),
		compress: newCompressCommand(app),
		demo:     newDemoCommand(app),
	}
}

func main() {
	app, c := newApp()
	cmd, err := app.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorilla-remote: %v\n", err)
		os.Exit(2)
	}
	switch cmd {
	case c.serve.cmd.FullCommand():
		err = c.serve.run()
	case c.bench.cmd.FullCommand():
		err = c.bench.run()
	case c.compress.cmd.FullCommand():
		err = c.compress.run()
	case c.demo.cmd.FullCommand():
		err = c.demo.run()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorilla-remote: %v\n", err)
		os.Exit(1)
	}
}
