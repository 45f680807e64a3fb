package chunkenc

import (
	"testing"

	prom "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
)

// TestCompatPrometheus checks both directions against the Prometheus
// reference: identical bytes for identical samples, and each side decodes
// the other's chunks to identical samples.
func TestCompatPrometheus(t *testing.T) {
	for name, ss := range shapes() {
		t.Run(name, func(t *testing.T) {
			ours := encode(t, ss).Bytes()
			theirs := promEncode(t, ss)
			require.Equal(t, theirs, ours, "encoded bytes differ")

			got, err := decode(theirs)
			require.NoError(t, err)
			requireSamples(t, ss, got)

			got, err = promDecode(t, ours)
			require.NoError(t, err)
			requireSamples(t, ss, got)
		})
	}
}

// TestCompatPrometheusResumedChunk decodes a chunk written by a resumed
// Prometheus appender: it reuses an all-zero window (64 significant bits)
// before any window was opened, which its own encoder never does.
func TestCompatPrometheusResumedChunk(t *testing.T) {
	c := prom.NewXORChunk()
	app, err := c.Appender()
	require.NoError(t, err)
	app.Append(0, 1000, 5)
	app.Append(0, 2000, 5)
	app, err = c.Appender()
	require.NoError(t, err)
	app.Append(0, 3000, 6.5)
	app.Append(0, 4000, 7.25)

	want := []sample{{1000, 5}, {2000, 5}, {3000, 6.5}, {4000, 7.25}}
	got, err := decode(c.Bytes())
	require.NoError(t, err)
	requireSamples(t, want, got)

	// Our appender resumes such a chunk and stays readable by both sides.
	oc, err := FromBytes(c.Bytes())
	require.NoError(t, err)
	oapp, err := oc.Appender()
	require.NoError(t, err)
	require.NoError(t, oapp.Append(5000, 1e9))
	want = append(want, sample{5000, 1e9})
	got, err = decode(oc.Bytes())
	require.NoError(t, err)
	requireSamples(t, want, got)
	got, err = promDecode(t, oc.Bytes())
	require.NoError(t, err)
	requireSamples(t, want, got)
}
