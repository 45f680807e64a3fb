package main

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/remote/remotetest"
)

// TestHeadAppendableContract runs the remote-write appender contract
// against the head as the server wires it into the write handler.
func TestHeadAppendableContract(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	remotetest.TestAppendable(t, func(t *testing.T) remotetest.Store {
		h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Stripes: 16})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		return remotetest.Store{
			Appendable: appendable{h},
			Samples: func(lset labels.Labels) ([]model.Sample, error) {
				return h.Range(lset, math.MinInt64, math.MaxInt64)
			},
			Close: h.Close,
		}
	})
}
