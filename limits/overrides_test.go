package limits

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

func TestOverridesFileOverDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.yml")
	writeFile(t, path, `
defaults:
  max_series: 1000
overrides:
  team-a:
    ingestion_rate: 500
`)
	ov, err := NewOverrides(Defaults(), path)
	require.NoError(t, err)

	def := ov.For("someone-else")
	require.Equal(t, 1000, def.MaxSeries)
	require.Equal(t, DefaultMaxLabelNameLength, def.MaxLabelNameLength, "keys the file does not name keep the flags' values")

	a := ov.For("team-a")
	require.Equal(t, 500.0, a.IngestionRate)
	require.Equal(t, 1000, a.MaxSeries, "an override starts from the file's defaults")
	require.Equal(t, []string{"team-a"}, ov.Tenants())
}

func TestOverridesReloadKeepsOldLimitsOnBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.yml")
	writeFile(t, path, "defaults:\n  max_series: 10\n")
	ov, err := NewOverrides(Defaults(), path)
	require.NoError(t, err)

	for name, content := range map[string]string{
		"unknown key":    "defaults:\n  max_serie: 20\n",
		"negative value": "overrides:\n  anonymous:\n    max_series: -1\n",
		"NaN rate":       "defaults:\n  ingestion_rate: .nan\n",
		"infinite rate":  "defaults:\n  ingestion_rate: .inf\n",
		"not yaml":       "defaults: [",
	} {
		writeFile(t, path, content)
		require.Error(t, ov.Reload(), name)
		require.Equal(t, 10, ov.For(Anonymous).MaxSeries, "%s: the old limits stay", name)
	}
	require.NoError(t, os.Remove(path))
	require.Error(t, ov.Reload(), "missing file")
	require.Equal(t, 10, ov.For(Anonymous).MaxSeries)

	writeFile(t, path, "defaults:\n  max_series: 20\n")
	require.NoError(t, ov.Reload())
	require.Equal(t, 20, ov.For(Anonymous).MaxSeries)
}

func TestNewOverridesRefusesInvalidDefaults(t *testing.T) {
	l := Defaults()
	l.MaxSeriesPerMetric = -1
	_, err := NewOverrides(l, "")
	require.ErrorContains(t, err, "max_series_per_metric")

	path := filepath.Join(t.TempDir(), "limits.yml")
	writeFile(t, path, "bogus: 1\n")
	_, err = NewOverrides(Defaults(), path)
	require.Error(t, err)
}

func TestOverridesRequestAndQueryLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.yml")
	writeFile(t, path, `
overrides:
  small:
    max_request_bytes: 1000
    max_query_samples: 10
    max_fetched_series_per_query: 5
    max_query_concurrency: 2
`)
	base := Defaults()
	base.MaxRequestBytes, base.MaxQuerySamples, base.MaxQueryConcurrency = 1<<20, 1000, 20
	ov, err := NewOverrides(base, path)
	require.NoError(t, err)
	require.Equal(t, Limits{MaxRequestBytes: 1000, MaxQuerySamples: 10, MaxQuerySeries: 5, MaxQueryConcurrency: 2},
		pick(ov.For("small")))
	require.Equal(t, Limits{MaxRequestBytes: 1 << 20, MaxQuerySamples: 1000, MaxQueryConcurrency: 20},
		pick(ov.For("other")))

	writeFile(t, path, "defaults:\n  max_fetched_series_per_query: -1\n")
	require.ErrorContains(t, ov.Reload(), "max_fetched_series_per_query")
}

// pick keeps the request and query limits of l.
func pick(l Limits) Limits {
	return Limits{MaxRequestBytes: l.MaxRequestBytes, MaxQuerySamples: l.MaxQuerySamples,
		MaxQuerySeries: l.MaxQuerySeries, MaxQueryConcurrency: l.MaxQueryConcurrency}
}
