package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/demo"
)

// TestDemo runs the whole demo against a real server on a free loopback
// port and checks each section's numbers.
func TestDemo(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	parent := t.TempDir()
	c := &demoCommand{opts: demo.Options{Series: 50, Rounds: 20, Listen: "127.0.0.1:0", TempParent: parent}}
	var out, progress bytes.Buffer
	require.NoError(t, c.exec(context.Background(), &out, &progress))
	s := out.String()

	for _, section := range []string{
		"== Remote write:", "== Compression: GET /api/v1/status/tsdb ==", "== PromQL: GET /api/v1/query_range ==",
		"== Correlation: GET /api/v1/correlate ==", "== Autocorrelation: GET /api/v1/autocorrelation ==", "== Try it ==",
	} {
		require.Contains(t, s, section)
	}
	require.Contains(t, progress.String(), "\rwriting: 1000/1000 samples (100%)")

	// Every sample written is in the head: 50 × 20 synthetic, 3 × 120 analytics.
	require.Contains(t, s, "sent        1000 samples in ")
	require.Equal(t, 50*20+3*120, intAfter(t, s, `(?m)^samples\s+(\d+)$`))
	require.Equal(t, 53, intAfter(t, s, `(?m)^series\s+(\d+)$`))
	bps := floatAfter(t, s, `(?m)^bytes/sample\s+([0-9.]+),`)
	require.Greater(t, bps, 0.5)
	require.Less(t, bps, 16.0)

	// 50 series are one target, of job "api": one series, 20 steps of 15s,
	// the first without a rate.
	require.Contains(t, s, "step 15s: 1 series")
	require.Regexp(t, `(?m)^\d\d:\d\d:\d\d\s+[0-9]+\.[0-9]$`, s)
	require.Contains(t, s, "job=api")

	require.Greater(t, floatAfter(t, s, `(?m)^pearson\s+(-?[0-9.]+) over 120 aligned points$`), 0.9)
	require.Greater(t, floatAfter(t, s, `(?m)^spearman\s+(-?[0-9.]+) over 120 aligned points$`), 0.9)

	require.Contains(t, s, "query  demo_queue_depth, 120 points")
	require.Greater(t, floatAfter(t, s, `(?m)^ 10\s+(-?[0-9.]+)\s`), 0.5, "a full period")
	require.Less(t, floatAfter(t, s, `(?m)^  5\s+(-?[0-9.]+)\s`), -0.5, "half a period")
	require.Contains(t, s, "(strongest repeat: lag 10, every 2m30s")

	require.Contains(t, s, "curl -s 'http://127.0.0.1:")
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Empty(t, entries, "the data directory is removed")
}

func TestDemoKeep(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	parent := t.TempDir()
	c := &demoCommand{opts: demo.Options{Series: 10, Rounds: 3, Keep: true, Listen: "127.0.0.1:0", TempParent: parent}}
	var out bytes.Buffer
	require.NoError(t, c.exec(context.Background(), &out, &bytes.Buffer{}))
	dirs, err := filepath.Glob(filepath.Join(parent, "gorilla-remote-demo-*"))
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	require.DirExists(t, filepath.Join(dirs[0], "wal"))
	require.Contains(t, out.String(), "gorilla-remote serve --storage.path "+dirs[0]+" --web.listen-address 127.0.0.1:")
}

func TestDemoBadArguments(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	parent := t.TempDir()
	c := &demoCommand{opts: demo.Options{Series: 0, Rounds: 3, Listen: "127.0.0.1:0", TempParent: parent}}
	require.Error(t, c.exec(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}))
	c = &demoCommand{opts: demo.Options{Series: 1, Rounds: 1, Listen: "no-port", TempParent: parent}}
	err := c.exec(context.Background(), &bytes.Buffer{}, &bytes.Buffer{})
	require.ErrorContains(t, err, "no-port")

	// A port taken by another process: the server fails to listen.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c = &demoCommand{opts: demo.Options{Series: 1, Rounds: 1, Listen: ln.Addr().String(), TempParent: parent}}
	err = c.exec(context.Background(), &bytes.Buffer{}, &bytes.Buffer{})
	require.ErrorContains(t, err, "listen on "+ln.Addr().String())
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestDefaultSettings(t *testing.T) {
	s, err := defaultSettings()
	require.NoError(t, err)
	require.Equal(t, ":9201", s.ListenAddress)
	require.Equal(t, "data", s.StoragePath)
	require.Equal(t, 26*time.Hour, s.HeadRetention)
	require.Equal(t, 2*time.Hour, s.BlockDuration)
	require.Equal(t, "interval", s.WALFsync)
	require.True(t, s.Rollups)
}

func intAfter(t *testing.T, s, re string) int {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	require.NotNil(t, m, "no match for %s in\n%s", re, s)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

func floatAfter(t *testing.T, s, re string) float64 {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	require.NotNil(t, m, "no match for %s in\n%s", re, s)
	f, err := strconv.ParseFloat(strings.TrimSpace(m[1]), 64)
	require.NoError(t, err)
	return f
}
