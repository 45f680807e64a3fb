package chunkenc

import (
	"encoding/hex"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCases are small chunks whose exact bytes are pinned in testdata/.
func goldenCases() map[string][]sample {
	return map[string][]sample{
		"one-sample": {{1_700_000_000_000, 1}},
		// The worked example of docs/format/chunk.md.
		"doc-example": {{1_700_000_000_000, 1}, {1_700_000_015_000, 2}, {1_700_000_030_000, 3}},
		"counter": {
			{1_700_000_000_000, 0}, {1_700_000_015_000, 1}, {1_700_000_030_000, 2},
			{1_700_000_045_000, 3}, {1_700_000_060_000, 5}, {1_700_000_075_000, 8},
		},
		"gauge-jitter": {
			{1_700_000_000_000, 0.25}, {1_700_000_015_003, 0.5}, {1_700_000_029_998, 0.75},
			{1_700_000_045_000, 12.34}, {1_700_000_075_000, 12.34}, {1_700_000_090_000, -1},
		},
		"buckets": {
			{0, 1}, {10, 1}, {20, 1}, {8222, 1}, {16424, 1}, {90000, 1},
			{200000, 1}, {1 << 40, 1}, {-5, 1},
		},
		"special": {
			{-1000, staleNaN}, {0, math.Inf(1)}, {1000, math.Inf(-1)},
			{2000, math.Copysign(0, -1)}, {3000, math.SmallestNonzeroFloat64}, {4000, math.MaxFloat64},
		},
	}
}

// TestGolden pins the exact bytes of a few chunks; both encoders must
// produce them and both decoders must read them back. Regenerate with
// go test ./chunkenc/ -run TestGolden -update (only after checking that the
// format change is intended).
func TestGolden(t *testing.T) {
	for name, ss := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".hex")
			got := encode(t, ss).Bytes()
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(formatHex(got)), 0o644))
			}
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			want, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			require.NoError(t, err)
			require.Equal(t, want, got, "encoded bytes differ from %s", path)
			require.Equal(t, want, promEncode(t, ss), "Prometheus disagrees with %s", path)

			dec, err := decode(want)
			require.NoError(t, err)
			requireSamples(t, ss, dec)
		})
	}
}

// formatHex writes b as lowercase hex, 16 bytes per line.
func formatHex(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}
