package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/require"
)

func parseSettings(t *testing.T, file string, args ...string) (settings, error) {
	t.Helper()
	app := kingpin.New("test", "")
	c := newServeCommand(app)
	if file != "" {
		path := filepath.Join(t.TempDir(), "config.yml")
		require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
		args = append(args, "--config.file="+path)
	}
	_, err := app.Parse(append([]string{"serve"}, args...))
	require.NoError(t, err)
	return c.flags.resolve()
}

func TestSettingsDefaults(t *testing.T) {
	s, err := parseSettings(t, "")
	require.NoError(t, err)
	require.Equal(t, ":9201", s.ListenAddress)
	require.Equal(t, "data", s.StoragePath)
	require.Equal(t, time.Hour, s.OutOfOrderWindow)
	require.Equal(t, 26*time.Hour, s.HeadRetention)
	require.Equal(t, 2*time.Hour, s.BlockDuration)
	require.Equal(t, "interval", s.WALFsync)
	require.False(t, s.WALRepair)
}

func TestWALRepairSetting(t *testing.T) {
	s, err := parseSettings(t, "", "--wal.repair")
	require.NoError(t, err)
	require.True(t, s.WALRepair)
	s, err = parseSettings(t, "wal:\n  repair: true\n")
	require.NoError(t, err)
	require.True(t, s.WALRepair, "from the file")
	s, err = parseSettings(t, "wal:\n  repair: true\n", "--no-wal.repair")
	require.NoError(t, err)
	require.False(t, s.WALRepair, "a flag given on the command line wins")
}

func TestWALCompressionSetting(t *testing.T) {
	s, err := parseSettings(t, "")
	require.NoError(t, err)
	require.Equal(t, "zstd", s.WALCompression, "the default")
	s, err = parseSettings(t, "wal:\n  compression: snappy\n")
	require.NoError(t, err)
	require.Equal(t, "snappy", s.WALCompression, "from the file")
	s, err = parseSettings(t, "wal:\n  compression: snappy\n", "--wal.compression=none")
	require.NoError(t, err)
	require.Equal(t, "none", s.WALCompression, "a flag given on the command line wins")
	_, err = parseSettings(t, "wal:\n  compression: lz4\n")
	require.ErrorContains(t, err, "wal.compression")
}

func TestConfigFileUnderFlags(t *testing.T) {
	file := `
web:
  listen_address: 127.0.0.1:9999
storage:
  path: /var/lib/gorilla
  out_of_order_window: 30m
head:
  retention: 1d
wal:
  fsync: always
`
	s, err := parseSettings(t, file, "--storage.path=/from/flag")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9999", s.ListenAddress, "from the file")
	require.Equal(t, "/from/flag", s.StoragePath, "a flag given on the command line wins")
	require.Equal(t, 30*time.Minute, s.OutOfOrderWindow)
	require.Equal(t, 24*time.Hour, s.HeadRetention)
	require.Equal(t, 2*time.Hour, s.BlockDuration, "default where neither says")
	require.Equal(t, "always", s.WALFsync)
}

func TestConfigFileErrors(t *testing.T) {
	_, err := parseSettings(t, "storage:\n  paht: x\n")
	require.ErrorContains(t, err, "paht", "unknown keys are refused")
	_, err = parseSettings(t, "wal:\n  fsync: sometimes\n")
	require.ErrorContains(t, err, "wal.fsync")
}

func TestClientBoundSettings(t *testing.T) {
	s, err := parseSettings(t, "")
	require.NoError(t, err)
	require.Equal(t, time.Minute, s.ReadTimeout)
	require.Equal(t, time.Minute, s.WriteTimeout)
	require.Equal(t, 2*time.Minute, s.IdleTimeout)
	require.Equal(t, 512, s.MaxConnections)
	require.Equal(t, 256, s.MaxInflightWrites)
	require.Equal(t, 128, s.QueryMaxInflight)
	require.Equal(t, 256<<10, s.QueryMaxLength)

	file := `
web:
  read_timeout: 10s
  write_timeout: 20s
  idle_timeout: 30s
  max_connections: 64
  max_inflight_writes: 32
query:
  max_inflight: 16
  max_length: 4096
`
	s, err = parseSettings(t, file, "--web.write-timeout=5s", "--query.max-length=100")
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, s.ReadTimeout)
	require.Equal(t, 5*time.Second, s.WriteTimeout, "the flag wins")
	require.Equal(t, 30*time.Second, s.IdleTimeout)
	require.Equal(t, 64, s.MaxConnections)
	require.Equal(t, 32, s.MaxInflightWrites)
	require.Equal(t, 16, s.QueryMaxInflight)
	require.Equal(t, 100, s.QueryMaxLength, "the flag wins")
}
