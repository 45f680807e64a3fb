package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Names of the systems, as used in tables and JSON.
const (
	gorilla    = "gorilla-remote"
	prometheus = "prometheus"
	victoria   = "victoria-metrics"
	// gorillaFsync is gorilla-remote with --wal.fsync=always: every write
	// is fsynced before it is acknowledged, so it also survives power loss.
	gorillaFsync = "gorilla-fsync"
)

// binaries says which executable runs each system; a bare name is looked up
// in PATH.
type binaries struct {
	gorilla, prometheus, victoria string
}

// system says how to run one time-series database for the benchmark.
type system struct {
	name string
	bin  string
	// args are the command-line arguments for a server on addr storing in
	// dataDir; confDir is a directory for configuration files outside it.
	args func(addr, dataDir, confDir string) ([]string, error)
	// readyPath answers 200 once the server takes writes and queries.
	readyPath string
	// settle, when set, makes everything acknowledged visible to queries.
	settle func(ctx context.Context, c *apiClient, s *server) error
	// seal makes the ingested data durable in its long-term form and
	// measures it on disk; see docs/benchmarks.md for what each one counts.
	seal func(ctx context.Context, c *apiClient, s *server) (diskResult, error)
}

// server is one running instance of a system.
type server struct {
	sys     *system
	proc    *proc
	addr    string
	dataDir string
	logPath string
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

func systems(bins binaries) []*system {
	gorillaArgs := func(extra ...string) func(addr, dataDir, _ string) ([]string, error) {
		return func(addr, dataDir, _ string) ([]string, error) {
			return append([]string{"--web.listen-address=" + addr, "--storage.path=" + dataDir}, extra...), nil
		}
	}
	return []*system{
		{
			name: gorilla, bin: bins.gorilla, readyPath: "/-/ready",
			args: gorillaArgs(), seal: sealGorilla,
		},
		{
			name: gorillaFsync, bin: bins.gorilla, readyPath: "/-/ready",
			args: gorillaArgs("--wal.fsync=always"), seal: sealGorilla,
		},
		{
			name: prometheus, bin: bins.prometheus, readyPath: "/-/ready",
			args: prometheusArgs, seal: sealPrometheus,
		},
		{
			name: victoria, bin: bins.victoria, readyPath: "/health",
			args: func(addr, dataDir, _ string) ([]string, error) {
				return []string{
					"-httpListenAddr=" + addr, "-storageDataPath=" + dataDir,
					"-retentionPeriod=100y",
					// Samples are visible to queries as soon as they are stored,
					// as they are in the other two systems.
					"-search.latencyOffset=0s",
					// No rollup result cache: repeated query timings measure
					// the query, not the cache.
					"-search.disableCache",
					// The default (300k) refuses queries over the 1M-series
					// load; the other two systems have no such limit.
					"-search.maxUniqueTimeseries=100000000",
				}, nil
			},
			settle: func(ctx context.Context, c *apiClient, s *server) error {
				return c.get(ctx, s.url("/internal/force_flush"))
			},
			seal: sealVictoria,
		},
	}
}

// prometheusConfig has no scrape jobs: every sample comes by remote write.
const prometheusConfig = "global:\n  scrape_interval: 15s\nscrape_configs: []\n"

func prometheusArgs(addr, dataDir, confDir string) ([]string, error) {
	conf := filepath.Join(confDir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(prometheusConfig), 0o644); err != nil {
		return nil, fmt.Errorf("write prometheus config: %w", err)
	}
	return []string{
		"--config.file=" + conf, "--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver", "--web.enable-admin-api",
	}, nil
}

// diskResult is what the data occupies on disk after sealing.
type diskResult struct {
	// Bytes is the figure bytes per sample is computed from.
	Bytes int64 `json:"bytes"`
	// What says what Bytes counts.
	What string `json:"what"`
	// Detail holds other sizes of interest, in bytes.
	Detail map[string]int64 `json:"detail,omitempty"`
	// WALBytes is the size of the write-ahead log (and, for Prometheus, the
	// memory-mapped head chunks), where the system has one.
	WALBytes int64 `json:"wal_bytes,omitempty"`
	// MemBytesPerSample is the in-memory chunk bytes per sample, where the
	// system reports it.
	MemBytesPerSample float64 `json:"mem_bytes_per_sample,omitempty"`
}

// sealGorilla measures the storage directory (WAL and checkpoints) and the
// head's chunk bytes per sample from /api/v1/status/tsdb.
func sealGorilla(ctx context.Context, c *apiClient, s *server) (diskResult, error) {
	n, err := dirSize(s.dataDir)
	if err != nil {
		return diskResult{}, err
	}
	st, err := gorillaHeadStats(ctx, c, s)
	if err != nil {
		return diskResult{}, err
	}
	return diskResult{
		Bytes: n, What: "storage dir (WAL + checkpoints)", WALBytes: n,
		Detail: map[string]int64{
			"head_samples": st.NumSamples,
			"head_chunks":  st.ChunkCount,
		},
		MemBytesPerSample: st.BytesPerSample,
	}, nil
}

// headStats is the part of gorilla-remote's headStats the benchmark reads.
type headStats struct {
	NumSamples     int64   `json:"numSamples"`
	ChunkCount     int64   `json:"chunkCount"`
	BytesPerSample float64 `json:"bytesPerSample"`
}

// gorillaHeadStats reads headStats of /api/v1/status/tsdb.
func gorillaHeadStats(ctx context.Context, c *apiClient, s *server) (headStats, error) {
	var st struct {
		Data struct {
			HeadStats headStats `json:"headStats"`
		} `json:"data"`
	}
	if err := c.getJSON(ctx, s.url("/api/v1/status/tsdb"), &st); err != nil {
		return headStats{}, err
	}
	return st.Data.HeadStats, nil
}

// sealPrometheus snapshots the head into a block and measures the block; it
// also reports the WAL and head chunk files it had before.
func sealPrometheus(ctx context.Context, c *apiClient, s *server) (diskResult, error) {
	walHead, err := dirSize(s.dataDir, "snapshots")
	if err != nil {
		return diskResult{}, err
	}
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := c.postJSON(ctx, s.url("/api/v1/admin/tsdb/snapshot"), &resp); err != nil {
		return diskResult{}, fmt.Errorf("snapshot: %w", err)
	}
	if resp.Data.Name == "" {
		return diskResult{}, fmt.Errorf("snapshot: no name in the answer (status %q)", resp.Status)
	}
	block, err := dirSize(filepath.Join(s.dataDir, "snapshots", resp.Data.Name))
	if err != nil {
		return diskResult{}, err
	}
	return diskResult{
		Bytes: block, What: "block from a snapshot of the head",
		WALBytes: walHead,
	}, nil
}

// vmPersistDelay is how long VictoriaMetrics 1.79 may keep a flushed part in
// memory before it writes it to disk (every 5s; measured: parts flushed by
// force_flush are lost to a kill -9 within 3s and kept after 6s).
const vmPersistDelay = 6 * time.Second

// sealVictoria flushes the buffered rows and writes every in-memory part to
// disk, then measures the data directory. A snapshot forces the parts to
// disk in every version (1.151 no longer writes them within vmPersistDelay
// of force_flush); it is deleted before the directory is measured, so its
// hard links are not counted.
func sealVictoria(ctx context.Context, c *apiClient, s *server) (diskResult, error) {
	if err := c.get(ctx, s.url("/internal/force_flush")); err != nil {
		return diskResult{}, fmt.Errorf("force_flush: %w", err)
	}
	var snap struct {
		Status   string `json:"status"`
		Snapshot string `json:"snapshot"`
	}
	if err := c.getJSON(ctx, s.url("/snapshot/create"), &snap); err != nil {
		return diskResult{}, fmt.Errorf("snapshot: %w", err)
	}
	if snap.Snapshot == "" {
		return diskResult{}, fmt.Errorf("snapshot: no name in the answer (status %q)", snap.Status)
	}
	if err := c.get(ctx, s.url("/snapshot/delete?snapshot="+url.QueryEscape(snap.Snapshot))); err != nil {
		return diskResult{}, fmt.Errorf("delete snapshot %s: %w", snap.Snapshot, err)
	}
	if err := sleep(ctx, vmPersistDelay); err != nil {
		return diskResult{}, err
	}
	n, err := stableDirSize(ctx, s.dataDir, time.Second, time.Minute)
	if err != nil {
		return diskResult{}, err
	}
	// 1.79 keeps its index in DIR/indexdb, 1.151 in DIR/data/indexdb.
	var index int64
	for _, d := range []string{filepath.Join(s.dataDir, "indexdb"), filepath.Join(s.dataDir, "data", "indexdb")} {
		if _, err := os.Stat(d); err == nil {
			if index, err = dirSize(d); err != nil {
				return diskResult{}, err
			}
		}
	}
	return diskResult{
		Bytes: n, What: "storage dir after force_flush and a snapshot (data + indexdb)",
		Detail: map[string]int64{"data_dir": n - index, "indexdb_dir": index},
	}, nil
}

// packageVersion is the version of an installed Debian package.
func packageVersion(ctx context.Context, pkg string) string {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil || len(out) == 0 {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// stableDirSize waits until the size of dir is the same twice every, at most
// for limit, and returns it.
func stableDirSize(ctx context.Context, dir string, every, limit time.Duration) (int64, error) {
	prev, err := dirSize(dir)
	for deadline := time.Now().Add(limit); err == nil && time.Now().Before(deadline); {
		if err := sleep(ctx, every); err != nil {
			return 0, err
		}
		n, err := dirSize(dir)
		if err != nil || n == prev {
			return n, err
		}
		prev = n
	}
	return prev, err
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
