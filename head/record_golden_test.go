package head

import (
	"encoding/hex"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenRecord is one record type's pinned encoding: encode builds the
// record from fixed values, check decodes the golden bytes and compares
// them to those values.
type goldenRecord struct {
	typ    byte
	encode func() []byte
	check  func(t *testing.T, rec []byte)
}

// goldenRecords has one entry per record type of record.go, named as its
// file in testdata/ (docs/format/wal-records.md).
func goldenRecords() map[string]goldenRecord {
	series := []seriesRecord{
		{Ref: 1, Labels: labels.FromStrings("__name__", "up", "job", "node")},
		{Ref: 300, Labels: labels.FromStrings("a", "")},
	}
	// Each label tag of the packed encoding, and a ref that goes down.
	packedSeries := []seriesRecord{
		{Ref: 1, Labels: labels.FromStrings("__name__", "up", "job", "node")},
		{Ref: 2, Labels: labels.FromStrings("__name__", "up", "job", "db")},
		{Ref: 3, Labels: labels.FromStrings("__name__", "up", "job", "db")},
		{Ref: 1, Labels: labels.FromStrings("a", "")},
	}
	samples := []sampleRecord{
		{Ref: 300, T: 1_700_000_000_000, V: 1},
		{Ref: 1, T: 1_700_000_015_000, V: math.Float64frombits(model.StaleNaN)},
		{Ref: 301, T: 1_699_999_999_999, V: -0.5},
	}
	// One value of each tag of the packed encoding, at refs and times that
	// go up and down.
	packed := []sampleRecord{
		{Ref: 300, T: 1_700_000_000_000, V: 7},
		{Ref: 301, T: 1_700_000_000_000, V: -12.5},
		{Ref: 299, T: 1_700_000_015_000, V: 0.25},
		{Ref: 302, T: 1_700_000_000_000, V: 0.125},
		{Ref: 1, T: 1_699_999_999_999, V: float64(float32(0.1))},
		{Ref: 2, T: 1_700_000_000_000, V: math.Float64frombits(model.StaleNaN)},
	}
	chunks := []chunkRecord{
		{Ref: 1, MinT: 1_700_000_000_000, MaxT: 1_700_000_015_000, Data: []byte{0, 2, 0xaa, 0xbb}},
		{Ref: 2, MinT: -1, MaxT: -1, Data: nil},
	}
	meta := []metadataRecord{
		{Family: "up", Meta: model.Metadata{Type: "gauge", Help: "1 if the target is up."}},
		{Family: "node_cpu_seconds", Meta: model.Metadata{Type: "counter", Unit: "seconds"}},
	}
	exemplars := []exemplarRecord{
		{Ref: 1, E: model.Exemplar{Labels: labels.FromStrings("trace_id", "4bf92f35"), T: 1_700_000_000_000, V: 0.25}},
		{Ref: 2, E: model.Exemplar{Labels: labels.EmptyLabels(), T: -5, V: math.Inf(1)}},
	}
	out := map[string]goldenRecord{
		"series_packed": {recSeriesPacked, func() []byte { return encodeSeries(nil, packedSeries) }, func(t *testing.T, rec []byte) {
			var b labels.ScratchBuilder
			got, err := decodeSeries(rec, nil, &b)
			require.NoError(t, err)
			equalSeries(t, packedSeries, got)
		}},
		"series": {recSeries, func() []byte { return encodeSeriesV1(nil, series) }, func(t *testing.T, rec []byte) {
			var b labels.ScratchBuilder
			got, err := decodeSeries(rec, nil, &b)
			require.NoError(t, err)
			require.Len(t, got, len(series))
			for i := range series {
				require.Equal(t, series[i].Ref, got[i].Ref)
				require.Equal(t, series[i].Labels.String(), got[i].Labels.String())
			}
		}},
		"samples": {recSamples, func() []byte { return encodeSamplesV1(nil, samples) }, func(t *testing.T, rec []byte) {
			got, err := decodeSamples(rec, nil)
			require.NoError(t, err)
			equalSamples(t, samples, got)
		}},
		"samples_packed": {recSamplesPacked, func() []byte { return encodeSamples(nil, packed) }, func(t *testing.T, rec []byte) {
			got, err := decodeSamples(rec, nil)
			require.NoError(t, err)
			equalSamples(t, packed, got)
		}},
		"chunks": {recChunks, func() []byte { return encodeChunkRecord(nil, chunks) }, func(t *testing.T, rec []byte) {
			got, err := decodeChunkRecord(rec, nil)
			require.NoError(t, err)
			require.Len(t, got, len(chunks))
			for i := range chunks {
				require.Equal(t, chunks[i].Ref, got[i].Ref)
				require.Equal(t, chunks[i].MinT, got[i].MinT)
				require.Equal(t, chunks[i].MaxT, got[i].MaxT)
				require.Equal(t, hex.EncodeToString(chunks[i].Data), hex.EncodeToString(got[i].Data))
			}
		}},
		"metadata": {recMetadata, func() []byte { return encodeMetadata(nil, meta) }, func(t *testing.T, rec []byte) {
			got, err := decodeMetadata(rec, nil)
			require.NoError(t, err)
			require.Equal(t, meta, got)
		}},
		"exemplars": {recExemplars, func() []byte { return encodeExemplars(nil, exemplars) }, func(t *testing.T, rec []byte) {
			var b labels.ScratchBuilder
			got, err := decodeExemplars(rec, nil, &b)
			require.NoError(t, err)
			require.Len(t, got, len(exemplars))
			for i := range exemplars {
				require.Equal(t, exemplars[i].Ref, got[i].Ref)
				require.Equal(t, exemplars[i].E.T, got[i].E.T)
				require.Equal(t, math.Float64bits(exemplars[i].E.V), math.Float64bits(got[i].E.V))
				require.Equal(t, exemplars[i].E.Labels.String(), got[i].E.Labels.String())
			}
		}},
	}
	for name, g := range histGoldenRecords() {
		out[name] = g
	}
	return out
}

// TestGoldenRecords pins the exact bytes of one record of each type in
// testdata/<name>.hex, and decodes those bytes back to the values they
// were made from. Regenerate with go test ./head/ -run TestGoldenRecords
// -update, only after checking that the format change is intended: WALs
// and checkpoints already on disk would no longer replay.
func TestGoldenRecords(t *testing.T) {
	for name, g := range goldenRecords() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".hex")
			got := g.encode()
			require.Equal(t, g.typ, got[0], "type byte of the encoded record")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(formatHex(got)), 0o644))
			}
			raw, err := os.ReadFile(path)
			require.NoError(t, err, "run with -update to create")
			want, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "encoded bytes differ from %s", path)
			g.check(t, want)
		})
	}
}

// TestGoldenRecordsCoverEveryType fails when record.go gains a record type
// without a golden file: it lists the rec* byte constants of the package
// source and wants a goldenRecords entry for each value.
func TestGoldenRecordsCoverEveryType(t *testing.T) {
	pinned := map[byte]bool{}
	for _, g := range goldenRecords() {
		pinned[g.typ] = true
	}
	consts := recordTypeConstants(t)
	require.NotEmpty(t, consts, "no rec* byte constants found in the package source")
	for name, v := range consts {
		if !pinned[v] {
			t.Errorf("record type %s (%d) has no golden record in testdata/", name, v)
		}
	}
	require.Len(t, pinned, len(consts), "golden records of types that are not record constants")
}

// recordTypeConstants parses the package's non-test files and returns its
// constants named rec<Upper>... declared as byte with a literal value.
func recordTypeConstants(t *testing.T) map[string]byte {
	t.Helper()
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	require.NoError(t, err)
	out := map[string]byte{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "byte" {
					continue
				}
				for i, n := range vs.Names {
					if !isRecordConstName(n.Name) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					require.True(t, ok, "%s: %s is not a literal", p, n.Name)
					v, err := strconv.ParseUint(lit.Value, 0, 8)
					require.NoError(t, err)
					out[n.Name] = byte(v)
				}
			}
		}
	}
	return out
}

func isRecordConstName(s string) bool {
	return len(s) > 3 && strings.HasPrefix(s, "rec") && s[3] >= 'A' && s[3] <= 'Z'
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
