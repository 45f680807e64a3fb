// Package demo is `gorilla-remote demo`: it starts a server on a temporary
// directory, writes a few thousand synthetic series to it over remote
// write (with bench/loadgen) plus three hand-made series for the
// analytics, and prints what the server made of them through its own HTTP
// API: compression from /api/v1/status/tsdb, a PromQL range query, a
// correlation and an autocorrelation (docs/demo.md).
//
// The package does not know how to build a server: the caller passes a
// StartFunc (cmd/gorilla-remote starts its serve command in-process), and
// the demo talks to it over loopback HTTP only, as any client would.
//
//	err := demo.Run(ctx, demo.Options{Series: 2000, Rounds: 120, Listen: "127.0.0.1:0", Start: start}, os.Stdout, os.Stderr)
package demo
