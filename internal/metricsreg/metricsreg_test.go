package metricsreg

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterClashRollsBack(t *testing.T) {
	reg := prometheus.NewRegistry()
	taken := prometheus.NewCounter(prometheus.CounterOpts{Name: "gorilla_taken_total", Help: "x"})
	if err := reg.Register(taken); err != nil {
		t.Fatal(err)
	}
	first := prometheus.NewCounter(prometheus.CounterOpts{Name: "gorilla_first_total", Help: "x"})
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "gorilla_taken_total", Help: "x"})
	err := Register(reg, []prometheus.Collector{first, clash})
	if err == nil || !strings.Contains(err.Error(), "gorilla_taken_total") {
		t.Fatalf("Register = %v, want an error naming gorilla_taken_total", err)
	}
	// The collector registered before the clash was taken back.
	if err := reg.Register(first); err != nil {
		t.Fatalf("first is still registered after the failed Register: %v", err)
	}
}

func TestUnregisterFreesTheNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	mk := func() []prometheus.Collector {
		return []prometheus.Collector{prometheus.NewGauge(prometheus.GaugeOpts{Name: "gorilla_g", Help: "x"})}
	}
	a := mk()
	if err := Register(reg, a); err != nil {
		t.Fatal(err)
	}
	Unregister(reg, a)
	if err := Register(reg, mk()); err != nil {
		t.Fatalf("second Register after Unregister: %v", err)
	}
	if err := Register(nil, mk()); err != nil {
		t.Fatalf("Register with a nil registry: %v", err)
	}
	Unregister(nil, a)
}

func TestName(t *testing.T) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gorilla_x_total", Help: "x"}, []string{"a"})
	if got := Name(c); got != "gorilla_x_total" {
		t.Fatalf("Name = %q, want gorilla_x_total", got)
	}
}
