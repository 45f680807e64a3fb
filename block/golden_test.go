package block

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenBlock pins the bytes of a small block: meta.json, the chunk
// segment and the index (docs/format/block.md).
func TestGoldenBlock(t *testing.T) {
	id := ulid.MustParse("01HF84E4000000000000000000")
	series := []model.ChunkSeries{
		{Labels: labels.FromStrings("__name__", "up", "job", "a"), Chunks: []model.Chunk{
			buildChunk(t, []sample{{testMint, 1}, {testMint + 15000, 1}, {testMint + 30000, 0}}),
			buildChunk(t, []sample{{testMint + 3600_000, 1}}),
		}},
		{Labels: labels.FromStrings("__name__", "up", "job", "b"), Chunks: []model.Chunk{
			buildChunk(t, []sample{{testMint + 1, 0.5}, {testMaxt - 1, 2.25}}),
		}},
	}
	dir := t.TempDir()
	writeTestBlock(t, dir, series, WriteOptions{ULID: id, Labels: map[string]string{"tenant": "golden"}})
	for _, f := range []struct{ file, golden string }{
		{"meta.json", "golden-meta.json"},
		{"chunks/000001", "golden-chunks-000001"},
		{"index", "golden-index"},
	} {
		got, err := os.ReadFile(filepath.Join(dir, id.String(), f.file))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", f.golden)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s:\ngot  %x\nwant %x", f.file, golden, got, want)
		}
	}
}
