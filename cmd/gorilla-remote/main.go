// Command gorilla-remote is a Prometheus remote-write backend built on the
// in-memory design of Facebook's Gorilla: remote write in, remote read and
// PromQL out, durable through a write-ahead log.
//
// Run `gorilla-remote --help` for the flags; docs/ in the repository
// describes the formats and the endpoints.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
)

// version is set at build time with -ldflags "-X main.version=...". The
// default is valid semver, which Grafana needs to read the build info.
var version = "0.1.0-dev"

func main() {
	app := kingpin.New("gorilla-remote", "A Prometheus-compatible remote-write backend on Gorilla-compressed memory and a write-ahead log.")
	app.Version(version)
	app.HelpFlag.Short('h')

	serve := newServeCommand(app)
	bench := newBenchCommand(app)
	compress := newCompressCommand(app)
	demo := newDemoCommand(app)

	cmd, err := app.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorilla-remote: %v\n", err)
		os.Exit(2)
	}
	switch cmd {
	case serve.cmd.FullCommand():
		err = serve.run()
	case bench.cmd.FullCommand():
		err = bench.run()
	case compress.cmd.FullCommand():
		err = compress.run()
	case demo.cmd.FullCommand():
		err = demo.run()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorilla-remote: %v\n", err)
		os.Exit(1)
	}
}
