package head

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/wal"
)

// gatheredNames returns the names of the metric families reg holds.
func gatheredNames(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}

// TestMetricsOpenCloseTwice opens and closes a head twice on one registry:
// Close unregisters everything Open registered, so the second Open does
// not clash with the first.
func TestMetricsOpenCloseTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := Options{Dir: t.TempDir(), MaintenanceInterval: -1, Registerer: reg}
	for range 2 {
		h, err := Open(opts)
		require.NoError(t, err)
		names := gatheredNames(t, reg)
		require.Contains(t, names, "gorilla_head_series")
		require.Contains(t, names, "gorilla_wal_unavailable")
		require.NoError(t, h.Close())
		require.Empty(t, gatheredNames(t, reg), "metrics left registered after Close")
	}
}

// TestMetricsClashIsAnError: a registry that already holds a metric of the
// head's makes Open fail with an error naming it, not panic, and leaves
// none of the head's other metrics behind.
func TestMetricsClashIsAnError(t *testing.T) {
	for _, name := range []string{"gorilla_head_series", "gorilla_wal_unavailable"} {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "someone else's"}))
			_, err := Open(Options{Dir: t.TempDir(), MaintenanceInterval: -1, Registerer: reg})
			require.Error(t, err)
			require.Contains(t, err.Error(), name)
			require.Equal(t, []string{name}, gatheredNames(t, reg))
		})
	}
}

// TestFailedOpenUnregistersMetrics: an Open that fails on a damaged WAL
// leaves no metric registered, so Open again with the same registry (here
// with WAL.Repair) works.
func TestFailedOpenUnregistersMetrics(t *testing.T) {
	damage := map[string]func(t *testing.T, opts Options, pos []recordPos) error{
		// wal.Open fails: a gap before the first segment.
		"missing segment": func(t *testing.T, opts Options, _ []recordPos) error {
			require.NoError(t, os.Remove(filepath.Join(opts.Dir, "wal", segmentName(0))))
			return wal.ErrMissingSegment
		},
		// Replay fails: a corrupt record in a segment that is not the last.
		"corrupt record": func(t *testing.T, opts Options, pos []recordPos) error {
			flipByte(t, opts, pos[1].seg, pos[1].off+10)
			return wal.ErrCorrupt
		},
	}
	for name, damage := range damage {
		t.Run(name, func(t *testing.T) {
			opts, pos := damagedHead(t, 100)
			reg := prometheus.NewRegistry()
			opts.Registerer = reg
			want := damage(t, opts, pos)
			_, err := Open(opts)
			require.ErrorIs(t, err, want)
			require.Empty(t, gatheredNames(t, reg), "metrics left registered by a failed Open")

			opts.WAL.Repair = true
			h, err := Open(opts)
			require.NoError(t, err)
			require.Contains(t, gatheredNames(t, reg), "gorilla_head_series")
			require.NoError(t, h.Close())
		})
	}
}
