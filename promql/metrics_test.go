package promql

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// newEngine builds an engine for a test and closes it at the end.
func newEngine(t testing.TB, opts EngineOptions) *Engine {
	t.Helper()
	e, err := NewEngine(opts)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func gatheredNames(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}

// TestEngineMetricsOpenCloseTwice: the engine's metrics carry the
// product's prefix, and Close unregisters them, so a second engine on the
// same registry does not clash.
func TestEngineMetricsOpenCloseTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := range 2 {
		e, err := NewEngine(EngineOptions{Registerer: reg})
		if err != nil {
			t.Fatalf("engine %d: %v", i+1, err)
		}
		names := gatheredNames(t, reg)
		if !slices.Contains(names, "gorilla_prometheus_engine_queries") {
			t.Fatalf("engine %d registered %v, want gorilla_prometheus_engine_queries among them", i+1, names)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "gorilla_") {
				t.Errorf("metric %s lacks the gorilla_ prefix", n)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if names := gatheredNames(t, reg); len(names) != 0 {
			t.Fatalf("after Close %d: still registered %v", i+1, names)
		}
	}
}

// TestEngineMetricsClashIsAnError: a registry already holding one of the
// engine's metrics makes NewEngine fail with an error naming it, not
// panic, and keeps none of the engine's others.
func TestEngineMetricsClashIsAnError(t *testing.T) {
	const name = "gorilla_prometheus_engine_query_samples_total"
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "someone else's"}))
	e, err := NewEngine(EngineOptions{Registerer: reg})
	if err == nil {
		_ = e.Close()
		t.Fatal("no error for a clashing metric")
	}
	if !strings.Contains(err.Error(), name) {
		t.Fatalf("error %q does not name %s", err, name)
	}
	if got := gatheredNames(t, reg); !slices.Equal(got, []string{name}) {
		t.Fatalf("registered after the failure: %v, want only %s", got, name)
	}
}
