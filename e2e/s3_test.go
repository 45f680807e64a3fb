//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/block/bucketcfg"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

const (
	s3Bucket = "gorilla"
	s3Key    = "gorillakey"
	s3Secret = "gorillasecret"
)

// s3Server is a Versity S3 Gateway serving a directory (posix backend):
// each bucket is a directory and each object a file, so a test can read
// the uploaded blocks straight from disk.
type s3Server struct {
	bin, dir string
	port     int
	proc     *process
}

func newS3Server(t *testing.T) *s3Server {
	s := &s3Server{bin: lookGoTool(t, "versitygw", "github.com/versity/versitygw/cmd/versitygw@v1.8.0"), dir: t.TempDir(), port: freePort(t)}
	require.NoError(t, os.MkdirAll(filepath.Join(s.dir, s3Bucket), 0o755))
	s.start(t)
	return s
}

// start runs the gateway and waits until it accepts connections.
func (s *s3Server) start(t *testing.T) {
	t.Helper()
	s.proc = startProcess(t, "versitygw", s.bin, "--access", s3Key, "--secret", s3Secret,
		"--port", fmt.Sprintf("127.0.0.1:%d", s.port), "posix", s.dir)
	require.NoError(t, poll(30*time.Second, 100*time.Millisecond, func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			_ = conn.Close()
			return true
		}
		require.False(t, s.proc.exited(), "versitygw exited: %v", s.proc.err)
		return false
	}), "versitygw did not listen on port %d", s.port)
}

func (s *s3Server) stop(t *testing.T) {
	t.Helper()
	s.proc.kill()
}

// config writes the objstore bucket configuration for the gateway.
func (s *s3Server) config(t *testing.T) string {
	return writeFile(t, "bucket.yml", fmt.Sprintf(`type: S3
config:
  bucket: %s
  endpoint: 127.0.0.1:%d
  access_key: %s
  secret_key: %s
  insecure: true
  bucket_lookup_type: path
`, s3Bucket, s.port, s3Key, s3Secret))
}

// blocks reads every complete block the gateway stored and returns the
// number of samples per window start; a window stored twice fails.
func (s *s3Server) blocks(t *testing.T) map[int64]int {
	t.Helper()
	root := filepath.Join(s.dir, s3Bucket)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	out := map[int64]int{}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		meta, err := block.ReadMeta(dir)
		if errors.Is(err, block.ErrNoMeta) {
			continue
		}
		require.NoError(t, err)
		_, dup := out[meta.MinTime]
		require.False(t, dup, "window %d stored twice", meta.MinTime)
		b, err := block.Open(dir)
		require.NoError(t, err)
		series, err := b.Select(context.Background(), meta.MinTime, meta.MaxTime-1, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
		require.NoError(t, err)
		n := 0
		for _, sr := range series {
			for _, c := range sr.Chunks {
				it := chunkenc.NewIterator(c.Data)
				for it.Next() {
					n++
				}
				require.NoError(t, it.Err())
			}
		}
		require.NoError(t, b.Close())
		out[meta.MinTime] = n
	}
	return out
}

// windowSamples returns how many samples of the history fall into each
// sealed window.
func windowSamples(w *loadgen.Workload, n int) map[int64]int {
	bd := (2 * time.Hour).Milliseconds()
	first, _ := w.Sample(0, 0)
	start := first / bd * bd
	out := map[int64]int{}
	for r := 0; r < blockRounds; r++ {
		ts, _ := w.Sample(0, r)
		if ws := ts / bd * bd; ws < start+int64(n)*bd {
			out[ws] += blockSeries
		}
	}
	return out
}

// TestS3Acceptance runs the objstore acceptance test against the S3 bucket
// the binary builds from its configuration, on a real S3 server.
func TestS3Acceptance(t *testing.T) {
	s3 := newS3Server(t)
	conf, err := os.ReadFile(s3.config(t))
	require.NoError(t, err)
	bkt, err := bucketcfg.New(context.Background(), conf, "", nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bkt.Close()) })
	objstore.AcceptanceTest(t, bkt)
}

// TestBlocksS3 ships blocks to a real S3 server and reads them back.
func TestBlocksS3(t *testing.T) {
	bin := buildServer(t)
	s3 := newS3Server(t)
	c := newHTTPClient(t)
	port, storage := freePort(t), t.TempDir()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	startBlockServer(t, c, bin, port, storage, "--objstore.config-file="+s3.config(t), "--no-block.rollups")

	w := writeHistory(t, base)
	n := sealedWindows(w)
	waitShipped(t, c, base, n, w)
	require.Equal(t, windowSamples(w, n), s3.blocks(t), "samples per window in the S3 bucket")
	requireHistory(t, c, base, w)
}

// TestBlocksS3Outage stops the S3 server while windows are due: the blocks
// wait on local disk, the WAL is not truncated, a kill -9 in the meantime
// loses nothing, and once the server is back every sample is in the bucket,
// each window exactly once.
func TestBlocksS3Outage(t *testing.T) {
	bin := buildServer(t)
	s3 := newS3Server(t)
	c := newHTTPClient(t)
	port, storage := freePort(t), t.TempDir()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := "--objstore.config-file=" + s3.config(t)
	gr := startBlockServer(t, c, bin, port, storage, cfg, "--no-block.rollups")

	s3.stop(t)
	w := writeHistory(t, base)
	n := sealedWindows(w)
	var sealed, pending, failed float64
	require.NoError(t, poll(60*time.Second, 200*time.Millisecond, func() bool {
		sealed, _ = metricSum(t, c, base+"/metrics", "gorilla_shipper_sealed_blocks_total", "")
		pending, _ = metricSum(t, c, base+"/metrics", "gorilla_shipper_pending_blocks", "")
		failed, _ = metricSum(t, c, base+"/metrics", "gorilla_shipper_uploads_total", `result="error"`)
		return sealed >= float64(n) && failed > 0
	}), "sealed %v of %d, %v pending, %v failed uploads", sealed, n, pending, failed)
	require.Equal(t, float64(n), pending, "every sealed block waits for its upload")
	_, _, err := wal.LastCheckpoint(filepath.Join(storage, "wal"))
	require.ErrorIs(t, err, wal.ErrNoCheckpoint, "the WAL is not truncated before the upload")
	// Memory keeps what is not uploaded, whatever the head retention says.
	first, _ := w.Sample(0, 0)
	require.LessOrEqual(t, headMinTime(t, c, base), first)

	// A crash while the uploads wait.
	gr.kill()
	startBlockServer(t, c, bin, port, storage, cfg, "--no-block.rollups")
	pending, _ = metricSum(t, c, base+"/metrics", "gorilla_shipper_pending_blocks", "")
	require.Equal(t, float64(n), pending, "pending blocks survive kill -9")

	s3.start(t)
	waitShipped(t, c, base, 0, w)
	require.Equal(t, windowSamples(w, n), s3.blocks(t), "every sample in the bucket, each window once")
	_, _, err = wal.LastCheckpoint(filepath.Join(storage, "wal"))
	require.NoError(t, err, "the WAL is checkpointed after the upload")
	requireHistory(t, c, base, w)
}
