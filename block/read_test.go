package block

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// matchAll reports whether ls satisfies every matcher with Prometheus
// semantics: a missing label has the empty value.
func matchAll(ls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// expectSelect filters series the slow way.
func expectSelect(series []model.ChunkSeries, mint, maxt int64, ms []*labels.Matcher) []model.ChunkSeries {
	var out []model.ChunkSeries
	for _, s := range series {
		if !matchAll(s.Labels, ms) {
			continue
		}
		var cs []model.Chunk
		for _, c := range s.Chunks {
			if c.MinT <= maxt && c.MaxT >= mint {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			out = append(out, model.ChunkSeries{Labels: s.Labels, Chunks: cs})
		}
	}
	return out
}

func TestSelectRoundTrip(t *testing.T) {
	dir := t.TempDir()
	series := genSeries(t, rand.New(rand.NewSource(4)), 300, testMint, testMaxt, 15000, 3)
	m := writeTestBlock(t, dir, series, WriteOptions{})
	b, err := Open(filepath.Join(dir, m.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() <= 0 || b.Meta().ULID != m.ULID || b.Dir() != filepath.Join(dir, m.ULID.String()) {
		t.Fatalf("size %d meta %v dir %s", b.Size(), b.Meta().ULID, b.Dir())
	}

	mm := labels.MustNewMatcher
	matcherSets := [][]*labels.Matcher{
		nil,
		{mm(labels.MatchEqual, "__name__", "metric_3")},
		{mm(labels.MatchNotEqual, "__name__", "metric_3")},
		{mm(labels.MatchRegexp, "a", "v1|v2|v10")},
		{mm(labels.MatchRegexp, "a", "v[0-4]")},
		{mm(labels.MatchNotRegexp, "a", "v1.*")},
		{mm(labels.MatchEqual, "a", "")},
		{mm(labels.MatchNotRegexp, "a", ".+")},
		{mm(labels.MatchRegexp, "a", ".*")},
		{mm(labels.MatchNotEqual, "a", "")},
		{mm(labels.MatchRegexp, "a", "v3|")},
		{mm(labels.MatchEqual, "__name__", "metric_1"), mm(labels.MatchEqual, "b", "")},
		{mm(labels.MatchRegexp, "__name__", "metric_.*"), mm(labels.MatchNotEqual, "a", "v2"), mm(labels.MatchEqual, "b", "x")},
		{mm(labels.MatchEqual, "nope", "x")},
		{mm(labels.MatchEqual, "a", "missing")},
	}
	third := (testMaxt - testMint) / 3
	ranges := [][2]int64{
		{testMint, testMaxt},
		{testMint - 1000, testMint + 1000},
		{testMint + third, testMint + third + 1},
		{testMaxt + 1, testMaxt + 100},
		{0, 1},
	}
	ctx := context.Background()
	for _, ms := range matcherSets {
		for _, r := range ranges {
			got, err := b.Select(ctx, r[0], r[1], ms...)
			if err != nil {
				t.Fatalf("Select %v %v: %v", ms, r, err)
			}
			want := expectSelect(series, r[0], r[1], ms)
			if !equalSeries(got, want) {
				t.Fatalf("Select %v %v: got %d series, want %d", ms, r, len(got), len(want))
			}
		}
	}
	checkLabelQueries(t, b, series, matcherSets)
}

// equalSeries compares labels, chunk ranges and chunk bytes.
func equalSeries(a, b []model.ChunkSeries) bool {
	return slices.EqualFunc(a, b, func(x, y model.ChunkSeries) bool {
		return labels.Equal(x.Labels, y.Labels) && slices.EqualFunc(x.Chunks, y.Chunks, func(c, d model.Chunk) bool {
			return c.MinT == d.MinT && c.MaxT == d.MaxT && bytes.Equal(c.Data, d.Data)
		})
	})
}

func checkLabelQueries(t *testing.T, b *Block, series []model.ChunkSeries, sets [][]*labels.Matcher) {
	ctx := context.Background()
	for _, ms := range sets {
		names := map[string]struct{}{}
		values := map[string]struct{}{}
		for _, s := range series {
			if !matchAll(s.Labels, ms) {
				continue
			}
			s.Labels.Range(func(l labels.Label) { names[l.Name] = struct{}{} })
			if v := s.Labels.Get("a"); v != "" {
				values[v] = struct{}{}
			}
		}
		gotNames, err := b.LabelNames(ctx, ms...)
		if err != nil {
			t.Fatal(err)
		}
		if want := sortedKeys(names); !slices.Equal(gotNames, want) {
			t.Errorf("LabelNames %v = %v, want %v", ms, gotNames, want)
		}
		gotVals, err := b.LabelValues(ctx, "a", ms...)
		if err != nil {
			t.Fatal(err)
		}
		if want := sortedKeys(values); !slices.Equal(gotVals, want) {
			t.Errorf("LabelValues(a) %v = %v, want %v", ms, gotVals, want)
		}
	}
	if vals, err := b.LabelValues(ctx, "nope"); err != nil || len(vals) != 0 {
		t.Errorf("LabelValues(nope) = %v, %v", vals, err)
	}
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestSelectAfterClose(t *testing.T) {
	dir := t.TempDir()
	series := genSeries(t, rand.New(rand.NewSource(5)), 20, testMint, testMaxt, 30000, 1)
	m := writeTestBlock(t, dir, series, WriteOptions{})
	b, err := Open(filepath.Join(dir, m.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Select(context.Background(), testMint, testMaxt)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	// The results were copied out of the mapping.
	if !equalSeries(got, series) {
		t.Fatal("results changed after Close")
	}
	if _, err := b.Select(context.Background(), testMint, testMaxt); err == nil {
		t.Fatal("Select after Close succeeded")
	}
}

// TestPrometheusReaders reads our block with the Prometheus index and chunk
// readers and decodes the chunks with the Prometheus XOR decoder.
func TestPrometheusReaders(t *testing.T) {
	dir := t.TempDir()
	series := genSeries(t, rand.New(rand.NewSource(6)), 100, testMint, testMaxt, 10000, 2)
	m := writeTestBlock(t, dir, series, WriteOptions{})
	bdir := filepath.Join(dir, m.ULID.String())

	ir, err := index.NewFileReader(filepath.Join(bdir, "index"), index.DecodePostingsRaw)
	if err != nil {
		t.Fatal(err)
	}
	defer ir.Close()
	cr, err := chunks.NewDirReader(filepath.Join(bdir, "chunks"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()

	n, v := index.AllPostingsKey()
	p, err := ir.Postings(context.Background(), n, v)
	if err != nil {
		t.Fatal(err)
	}
	var sb labels.ScratchBuilder
	var metas []chunks.Meta
	i := 0
	for ; p.Next(); i++ {
		if err := ir.Series(p.At(), &sb, &metas); err != nil {
			t.Fatal(err)
		}
		want := series[i]
		if !labels.Equal(sb.Labels(), want.Labels) {
			t.Fatalf("series %d: %s, want %s", i, sb.Labels(), want.Labels)
		}
		if len(metas) != len(want.Chunks) {
			t.Fatalf("series %d: %d chunks, want %d", i, len(metas), len(want.Chunks))
		}
		for j, meta := range metas {
			c, _, err := cr.ChunkOrIterable(meta)
			if err != nil {
				t.Fatal(err)
			}
			if c.Encoding() != pchunkenc.EncXOR {
				t.Fatalf("encoding %v", c.Encoding())
			}
			var got []sample
			it := c.Iterator(nil)
			for it.Next() == pchunkenc.ValFloat {
				ts, v := it.At()
				got = append(got, sample{ts, v})
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if w := decode(t, want.Chunks[j].Data); !slices.Equal(got, w) {
				t.Fatalf("series %d chunk %d: prometheus decodes %d samples, want %d", i, j, len(got), len(w))
			}
			if meta.MinTime != want.Chunks[j].MinT || meta.MaxTime != want.Chunks[j].MaxT {
				t.Fatalf("series %d chunk %d: range [%d,%d]", i, j, meta.MinTime, meta.MaxTime)
			}
		}
	}
	if i != len(series) {
		t.Fatalf("%d series, want %d", i, len(series))
	}
}

// promtool returns the path of promtool or skips (fails under CI=true).
func promtool(t *testing.T) string {
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found (apt-get install prometheus)")
		}
		t.Skip("promtool not found; install Debian's prometheus package to run this test")
	}
	return p
}

func TestPromtoolAcceptsBlock(t *testing.T) {
	tool := promtool(t)
	dir := t.TempDir()
	// Chunks spanning the whole window with 720 samples each, as the head
	// seals them, and one chunk per series.
	series := genSeries(t, rand.New(rand.NewSource(7)), 200, testMint, testMaxt, 10000, 1)
	m := writeTestBlock(t, dir, series, WriteOptions{})

	out, err := exec.Command(tool, "tsdb", "list", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), m.ULID.String()) {
		t.Fatalf("list output lacks %s:\n%s", m.ULID, out)
	}
	out, err = exec.Command(tool, "tsdb", "analyze", dir, m.ULID.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb analyze: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), m.ULID.String()) || !strings.Contains(string(out), "Series: "+strconv.Itoa(len(series))) {
		t.Fatalf("analyze output lacks the ULID or the series count:\n%s", out)
	}
}
