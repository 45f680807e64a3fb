package block

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestWriteLayoutAndMeta(t *testing.T) {
	dir := t.TempDir()
	series := genSeries(t, rand.New(rand.NewSource(1)), 50, testMint, testMaxt, 15000, 2)
	series = append(series, model.ChunkSeries{Labels: labels.FromStrings("zzz", "empty")}) // skipped
	m := writeTestBlock(t, dir, series, WriteOptions{Labels: map[string]string{"tenant": "t1"}, Resolution: 0})

	bdir := filepath.Join(dir, m.ULID.String())
	for _, f := range []string{"meta.json", "index", "chunks/000001"} {
		if _, err := os.Stat(filepath.Join(bdir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only the block (no .tmp left)", len(ents))
	}
	if m.ULID.Time() != uint64(testMint) {
		t.Errorf("ULID time %d, want mint %d", m.ULID.Time(), testMint)
	}
	if m.Stats.NumSeries != 50 || m.Stats.NumChunks != 100 {
		t.Errorf("stats %+v, want 50 series 100 chunks", m.Stats)
	}
	var want uint64
	for _, s := range series {
		for _, c := range s.Chunks {
			want += uint64(len(decode(t, c.Data)))
		}
	}
	if m.Stats.NumSamples != want {
		t.Errorf("numSamples %d, want %d", m.Stats.NumSamples, want)
	}
	got, err := ReadMeta(bdir)
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	mj, _ := json.Marshal(m)
	if string(gj) != string(mj) {
		t.Errorf("ReadMeta = %s\nwant %s", gj, mj)
	}
	// The JSON field names Prometheus and Thanos read.
	raw, _ := os.ReadFile(filepath.Join(bdir, "meta.json"))
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	th := generic["thanos"].(map[string]any)
	if th["source"] != "gorilla-remote" || th["labels"].(map[string]any)["tenant"] != "t1" ||
		th["downsample"].(map[string]any)["resolution"] != 0.0 {
		t.Errorf("thanos section %v", th)
	}
	comp := generic["compaction"].(map[string]any)
	if comp["level"] != 1.0 || comp["sources"].([]any)[0] != m.ULID.String() {
		t.Errorf("compaction %v", comp)
	}
	if generic["version"] != 1.0 || generic["minTime"] != float64(testMint) || generic["maxTime"] != float64(testMaxt) {
		t.Errorf("meta %s", raw)
	}
	if m.DataBytes() == 0 {
		t.Error("no file sizes in the thanos section")
	}
}

func TestWriteExplicitULIDAndRewrite(t *testing.T) {
	dir := t.TempDir()
	id := ulid.MustNew(ulid.Now(), rand.New(rand.NewSource(2)))
	series := genSeries(t, rand.New(rand.NewSource(2)), 5, testMint, testMaxt, 60000, 1)
	for range 2 {
		m := writeTestBlock(t, dir, series, WriteOptions{ULID: id, Resolution: 300000})
		if m.ULID != id || m.Thanos.Downsample.Resolution != 300000 {
			t.Fatalf("meta %+v", m)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	good := genSeries(t, rng, 3, testMint, testMaxt, 60000, 2)
	chunkAt := func(t0, t1 int64) model.Chunk {
		return buildChunk(t, []sample{{t0, 1}, {t1, 2}})
	}
	cases := map[string][]model.ChunkSeries{
		"unsorted":    {good[1], good[0]},
		"duplicate":   {good[0], good[0]},
		"before mint": {{Labels: labels.FromStrings("a", "b"), Chunks: []model.Chunk{chunkAt(testMint-1, testMint+5)}}},
		"at maxt":     {{Labels: labels.FromStrings("a", "b"), Chunks: []model.Chunk{chunkAt(testMint, testMaxt)}}},
		"overlap": {{Labels: labels.FromStrings("a", "b"), Chunks: []model.Chunk{
			chunkAt(testMint, testMint+100), chunkAt(testMint+100, testMint+200),
		}}},
		"short data": {{Labels: labels.FromStrings("a", "b"), Chunks: []model.Chunk{{MinT: testMint, MaxT: testMint, Data: []byte{0}}}}},
		"no labels":  {{Chunks: []model.Chunk{chunkAt(testMint, testMint+1)}}},
	}
	for name, series := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Write(context.Background(), dir, testMint, testMaxt, series, WriteOptions{}); err == nil {
				t.Fatal("Write succeeded")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left %d entries behind", len(ents))
			}
		})
	}
	if _, err := Write(context.Background(), t.TempDir(), testMaxt, testMint, good, WriteOptions{}); err == nil {
		t.Error("Write accepted an empty range")
	}
}

func TestReadMetaMissing(t *testing.T) {
	if _, err := ReadMeta(t.TempDir()); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("err = %v, want ErrNoMeta", err)
	}
}

func TestStoredChunkIterator(t *testing.T) {
	ss := []sample{{1000, 1.5}, {2000, 2.5}, {3000, -1}, {4500, 0}}
	c := buildChunk(t, ss)
	sc := storedChunk(c.Data)
	if sc.NumSamples() != 4 || sc.Encoding() != pchunkenc.EncXOR {
		t.Fatalf("NumSamples %d encoding %v", sc.NumSamples(), sc.Encoding())
	}
	it := sc.Iterator(nil)
	if it.Seek(2000) != pchunkenc.ValFloat || it.AtT() != 2000 {
		t.Fatalf("Seek(2000) at %d", it.AtT())
	}
	if it.Seek(1000) != pchunkenc.ValFloat || it.AtT() != 2000 {
		t.Fatal("Seek moved backwards")
	}
	var got []sample
	for it.Next() == pchunkenc.ValFloat {
		ts, v := it.At()
		got = append(got, sample{ts, v})
	}
	if it.Err() != nil || !slices.Equal(got, ss[2:]) {
		t.Fatalf("got %v, err %v", got, it.Err())
	}
	if _, err := sc.Appender(); err == nil {
		t.Fatal("stored chunk gave an appender")
	}
}

func FuzzParseMeta(f *testing.F) {
	f.Add([]byte(`{"ulid":"01HF84E4004565MHXDSMTECVDJ","minTime":0,"maxTime":7200000,"version":1,"compaction":{"level":1}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMeta(b)
		if err != nil {
			return
		}
		if m.Version != MetaVersion || m.MaxTime < m.MinTime {
			t.Fatalf("accepted %+v", m)
		}
	})
}

// TestWriteStopsOnCancelledContext: a cancelled write fails with the
// context's error and leaves neither the block nor its temporary directory.
func TestWriteStopsOnCancelledContext(t *testing.T) {
	dir := t.TempDir()
	series := genSeries(t, rand.New(rand.NewSource(1)), 50, testMint, testMaxt, 15000, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, dir, testMint, testMaxt, series, WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: got %v, want context.Canceled", err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("after a cancelled Write the directory holds %v (err %v), want nothing", ents, err)
	}
}
