package block

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// idleSource is a Source with nothing to seal.
type idleSource struct{}

func (idleSource) MinTime() int64 { return 0 }
func (idleSource) MaxTime() int64 { return 0 }
func (idleSource) WindowSeries(context.Context, int64, int64) ([]model.ChunkSeries, error) {
	return nil, nil
}
func (idleSource) SealBefore(int64) {}
func (idleSource) SetShipped(int64) {}
func (idleSource) Windows() model.Windows {
	return model.MustWindows(model.DefaultBlockDuration, model.DefaultOutOfOrderWindow)
}

// metricsCases builds each of the package's metric owners on reg and
// returns its Close, with the name of one metric it registers.
func metricsCases(t *testing.T) map[string]struct {
	metric string
	open   func(reg prometheus.Registerer) (func(), error)
} {
	bkt, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store, err := NewStore(StoreOptions{Bucket: bkt, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return map[string]struct {
		metric string
		open   func(reg prometheus.Registerer) (func(), error)
	}{
		"store": {"gorilla_block_cache_hits_total", func(reg prometheus.Registerer) (func(), error) {
			s, err := NewStore(StoreOptions{Bucket: bkt, CacheDir: t.TempDir(), Registerer: reg})
			if err != nil {
				return nil, err
			}
			return func() { _ = s.Close() }, nil
		}},
		"shipper": {"gorilla_shipper_pending_blocks", func(reg prometheus.Registerer) (func(), error) {
			s, err := NewShipper(ShipperOptions{Source: idleSource{}, Bucket: bkt, Dir: t.TempDir(), Registerer: reg})
			if err != nil {
				return nil, err
			}
			return s.Close, nil
		}},
		"rollups": {"gorilla_rollup_failures_total", func(reg prometheus.Registerer) (func(), error) {
			r, err := NewRollups(RollupOptions{Bucket: bkt, Store: store, Dir: t.TempDir(), Registerer: reg})
			if err != nil {
				return nil, err
			}
			return r.Close, nil
		}},
	}
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

// TestMetricsOpenCloseTwice: Close unregisters what the constructor
// registered, so a second instance on the same registry does not clash.
func TestMetricsOpenCloseTwice(t *testing.T) {
	for name, c := range metricsCases(t) {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			for i := range 2 {
				closeFn, err := c.open(reg)
				if err != nil {
					t.Fatalf("open %d: %v", i+1, err)
				}
				if names := gatheredNames(t, reg); !slices.Contains(names, c.metric) {
					t.Fatalf("open %d: registered %v, want %s among them", i+1, names, c.metric)
				}
				closeFn()
				if names := gatheredNames(t, reg); len(names) != 0 {
					t.Fatalf("after Close %d: still registered %v", i+1, names)
				}
			}
		})
	}
}

// TestMetricsClashIsAnError: a registry already holding one of the metrics
// makes the constructor fail with an error naming it, not panic, and keeps
// none of the others.
func TestMetricsClashIsAnError(t *testing.T) {
	for name, c := range metricsCases(t) {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: c.metric, Help: "someone else's"}))
			closeFn, err := c.open(reg)
			if err == nil {
				closeFn()
				t.Fatal("no error for a clashing metric")
			}
			if !strings.Contains(err.Error(), c.metric) {
				t.Fatalf("error %q does not name %s", err, c.metric)
			}
			if got := gatheredNames(t, reg); len(got) != 1 || got[0] != c.metric {
				t.Fatalf("registered after the failure: %v, want only %s", got, c.metric)
			}
		})
	}
}
