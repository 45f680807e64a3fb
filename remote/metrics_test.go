package remote

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// handlerCases builds each handler of the package on reg, with the name of
// one metric it registers. The handlers serve nothing here, so they need
// no storage.
func handlerCases() map[string]struct {
	metric string
	open   func(reg prometheus.Registerer) (Handler, error)
} {
	return map[string]struct {
		metric string
		open   func(reg prometheus.Registerer) (Handler, error)
	}{
		"write": {"gorilla_remote_write_request_duration_seconds", func(reg prometheus.Registerer) (Handler, error) {
			return NewWriteHandler(nil, WriteOptions{Registerer: reg})
		}},
		"read": {"gorilla_remote_read_request_duration_seconds", func(reg prometheus.Registerer) (Handler, error) {
			return NewReadHandler(nil, ReadOptions{Registerer: reg})
		}},
	}
}

// gatheredNames returns the names of the metric families reg gathers.
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

// TestMetricsOpenCloseTwice: Close unregisters the handler's metrics, so a
// second handler on the same registry does not clash.
func TestMetricsOpenCloseTwice(t *testing.T) {
	for name, c := range handlerCases() {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			for i := range 2 {
				h, err := c.open(reg)
				if err != nil {
					t.Fatalf("handler %d: %v", i+1, err)
				}
				// A GET is refused, and timed under the request duration.
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
				if names := gatheredNames(t, reg); !slices.Contains(names, c.metric) {
					t.Fatalf("handler %d: registered %v, want %s among them", i+1, names, c.metric)
				}
				h.Close()
				if names := gatheredNames(t, reg); len(names) != 0 {
					t.Fatalf("after Close %d: still registered %v", i+1, names)
				}
			}
		})
	}
}

// TestMetricsClashIsAnError: a registry already holding one of the metrics
// makes the constructor fail with an error naming it, not panic, and keeps
// none of the handler's others.
func TestMetricsClashIsAnError(t *testing.T) {
	for name, c := range handlerCases() {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: c.metric, Help: "someone else's"}))
			h, err := c.open(reg)
			if err == nil {
				h.Close()
				t.Fatal("no error for a clashing metric")
			}
			if !strings.Contains(err.Error(), c.metric) {
				t.Fatalf("error %q does not name %s", err, c.metric)
			}
			if got := gatheredNames(t, reg); !slices.Equal(got, []string{c.metric}) {
				t.Fatalf("registered after the failure: %v, want only %s", got, c.metric)
			}
		})
	}
}
