//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// prometheus316 returns the directory holding Prometheus 3.16's prometheus
// and promtool: $PROMETHEUS_316_BIN, else <GOPATH>/prometheus-3.16/bin,
// where `make e2e-deps` installs them (apart from Debian's 2.42 on PATH).
func prometheus316(t *testing.T) string {
	dir := os.Getenv("PROMETHEUS_316_BIN")
	if dir == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		require.NoError(t, err)
		dir = filepath.Join(strings.TrimSpace(string(out)), "prometheus-3.16", "bin")
	}
	for _, name := range []string{"prometheus", "promtool"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			requireOrSkip(t, "Prometheus 3.16's %s is not in %s (make e2e-deps, or GOBIN=%s go install "+
				"github.com/prometheus/prometheus/cmd/%s@v0.316.0): %v", name, dir, dir, name, err)
		}
	}
	return dir
}

// xor2Series are the series of the xor2 block: counters, decimals,
// full-precision floats and the values a lossy path would change.
func xor2Series(t *testing.T, mint int64) []model.ChunkSeries {
	gens := map[string]func(i int) float64{
		"enc_counter_total": func(i int) float64 { return float64(i * i) },
		"enc_decimal":       func(i int) float64 { return float64(i%17) * 0.01 },
		"enc_float":         func(i int) float64 { return math.Sin(float64(i)) * 1e6 },
		"enc_specials": func(i int) float64 {
			return []float64{math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.MaxFloat64, 5e-324}[i%5]
		},
		"enc_big_and_small":   func(i int) float64 { return math.Ldexp(1, i%2000-1000) },
		"enc_constant":        func(int) float64 { return 42 },
		"enc_negative_tenths": func(i int) float64 { return -float64(i) / 10 },
	}
	var out []model.ChunkSeries
	for name, gen := range gens {
		c := chunkenc.NewXORChunk()
		app, err := c.Appender()
		require.NoError(t, err)
		for i := range 240 {
			require.NoError(t, app.Append(mint+int64(i)*30_000, gen(i)))
		}
		out = append(out, model.ChunkSeries{
			Labels: labels.FromStrings("__name__", name, "job", "enc"),
			Chunks: []model.Chunk{{MinT: mint, MaxT: mint + 239*30_000, Data: bytes.Clone(c.Bytes())}},
		})
	}
	slicesSortSeries(out)
	return out
}

func slicesSortSeries(s []model.ChunkSeries) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && labels.Compare(s[j].Labels, s[j-1].Labels) < 0; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestXOR2BlocksReadByPrometheus316 writes a block with
// --block.chunk-encoding=xor2's encoder and has Prometheus 3.16 read it:
// promtool tsdb list, analyze and dump (every sample compared), and the
// Prometheus server answering range queries over it.
func TestXOR2BlocksReadByPrometheus316(t *testing.T) {
	bin := prometheus316(t)
	promtool, prom := filepath.Join(bin, "promtool"), filepath.Join(bin, "prometheus")
	// A recent window, so that Prometheus's retention keeps the block.
	const bd = 2 * 3600_000
	mint := (time.Now().UnixMilli() - 8*3600_000) / bd * bd
	series := xor2Series(t, mint)
	data := t.TempDir()
	meta, err := block.Write(context.Background(), data, mint, mint+bd, series, block.WriteOptions{Encoding: block.EncodingXOR2})
	require.NoError(t, err)
	want := map[string][]float64{}
	for _, s := range series {
		it := chunkenc.NewIterator(s.Chunks[0].Data)
		for it.Next() {
			_, v := it.At()
			want[s.Labels.Get("__name__")] = append(want[s.Labels.Get("__name__")], v)
		}
	}

	out, err := exec.Command(promtool, "tsdb", "list", data).CombinedOutput()
	require.NoError(t, err, "promtool tsdb list: %s", out)
	require.Contains(t, string(out), meta.ULID.String())
	out, err = exec.Command(promtool, "tsdb", "analyze", data, meta.ULID.String()).CombinedOutput()
	require.NoError(t, err, "promtool tsdb analyze: %s", out)
	require.Contains(t, string(out), fmt.Sprintf("Series: %d", len(series)), "promtool tsdb analyze:\n%s", out)
	// dump opens the directory as a TSDB, which wants a WAL directory.
	require.NoError(t, os.MkdirAll(filepath.Join(data, "wal"), 0o755))
	var stderr bytes.Buffer
	dump := exec.Command(promtool, "tsdb", "dump", data)
	dump.Stderr = &stderr
	out, err = dump.Output()
	require.NoError(t, err, "promtool tsdb dump: %s", stderr.String())
	got := map[string][]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// {__name__="x", job="enc"} 1.5 1700000000000
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		name := sc.Text()[strings.Index(sc.Text(), `__name__="`)+10:]
		name = name[:strings.IndexByte(name, '"')]
		v, err := strconv.ParseFloat(f[len(f)-2], 64)
		require.NoError(t, err, "dump line %q", sc.Text())
		got[name] = append(got[name], v)
	}
	for name, ws := range want {
		require.Len(t, got[name], len(ws), "promtool dump of %s", name)
		for i, w := range ws {
			// %g prints the shortest decimal that parses back exactly;
			// the sign of zero is the one thing it keeps in the text.
			if math.Float64bits(got[name][i]) != math.Float64bits(w) {
				t.Fatalf("promtool dump %s sample %d: %v, want %v", name, i, got[name][i], w)
			}
		}
	}

	port := freePort(t)
	cfg := writeFile(t, "prometheus.yml", "global:\n  scrape_interval: 1h\n")
	p := startProcess(t, "prometheus-3.16", prom, "--config.file="+cfg, "--storage.tsdb.path="+data,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	c := newHTTPClient(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p.waitOK(t, c, base+"/-/ready", 60*time.Second)
	api := promAPI{base: base, c: c}
	for name, ws := range want {
		res := api.queryRange(t, name, mint, mint+239*30_000, 30*time.Second)
		require.Len(t, res, 1, "Prometheus 3.16 range query %s", name)
		require.Len(t, res[0].Values, len(ws), "Prometheus 3.16 range query %s", name)
		for i, pt := range res[0].Values {
			v, err := strconv.ParseFloat(pt.V, 64)
			require.NoError(t, err)
			if v != ws[i] && !(v == 0 && ws[i] == 0) {
				t.Fatalf("Prometheus 3.16 %s sample %d: %s, want %v", name, i, pt.V, ws[i])
			}
		}
	}
}
