// Package e2e holds gorilla-remote's end-to-end tests.
//
// The capture test (capture_test.go) runs with the plain unit tests. It
// replays a recording of real Prometheus remote-write traffic
// (docs/format/capture.md) through the remote-write handler over a real
// head, reads everything back over remote read in both response types, and
// requires every sample bit for bit, before and after a restart of the head.
// It needs no external program.
//
// The Prometheus test (prometheus_test.go, build tag e2e) runs the real
// binary between a Prometheus that remote-writes node_exporter's and its own
// metrics into it and a second Prometheus that remote-reads them back, and
// compares what both answer through the Prometheus HTTP API. It needs
// prometheus and prometheus-node-exporter on the PATH:
//
//	go test -tags e2e -count=1 -v ./e2e/
//
// The UI test (ui_test.go, build tag e2e) drives headless Chromium over
// WebDriver (webdriver_test.go; Debian's chromium and chromium-driver)
// through the built-in web UI of the real binary holding known data, and
// saves a screenshot of the page when it fails (docs/ui.md):
//
//	go test -tags e2e -run UI -count=1 -v ./e2e/
//
// The cluster tests (cluster_*_test.go, build tag e2e) run three or four
// real processes of the binary on 127.0.0.11-14 with one shared bucket
// and check, under load, that every acknowledged sample is read back bit
// for bit through every node, nothing unsent is stored and no sample is
// answered twice: a million samples and the replica blocks merged into
// one, kill -9 of one node and of two, SIGSTOP for 60 s, a node joining and
// one leaving, and a network partition made with a network namespace
// (ip netns, as root; docs/cluster.md):
//
//	go test -tags e2e -run Cluster -count=1 -v ./e2e/
//
// The region tests (regions_test.go) forward between two real processes
// (docs/replication.md); the encoding and histogram tests use Prometheus
// 3.16 from $(go env GOPATH)/prometheus-3.16/bin (make e2e-deps).
//
// A missing capture file or external program skips a test locally and fails
// it when the environment variable CI is "true".
package e2e
