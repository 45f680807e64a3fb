package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/require"
)

// TestInvalidSettingsRefused checks that each value the server cannot run
// with is refused at start, with a message naming the flag or the config
// key that gave it.
func TestInvalidSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		args []string
		want string
	}{
		{"zero block duration", "", []string{"--block.duration=0s"}, "--block.duration=0s: must be a positive whole number of 5m"},
		{"block duration not a multiple of 5m", "", []string{"--block.duration=7m"}, "--block.duration=7m: must be a positive whole number of 5m"},
		{"block duration from the file", "block:\n  duration: 7m\n", nil, "config key block.duration: 7m in "},
		{"zero query concurrency", "", []string{"--query.max-concurrency=0"}, "--query.max-concurrency=0: must be at least 1"},
		{"zero query concurrency from the file", "query:\n  max_concurrency: 0\n", nil, "config key query.max_concurrency: 0 in "},
		{"unknown log level in the file", "log:\n  level: verbose\n", nil, `config key log.level: "verbose" in `},
		{"unknown config key", "storage:\n  pth: x\n", nil, `unknown config key "storage.pth" in `},
		{"unknown config section", "strage:\n  path: x\n", nil, `unknown config key "strage.path" in `},
		{"section is not a mapping", "storage: x\n", nil, `config key "storage" must hold a mapping of keys in `},
		{"bad byte size", "", []string{"--block.cache-size=10XB"}, "--block.cache-size"},
		{"negative cache size", "", []string{"--block.cache-size=-1"}, "--block.cache-size=-1: must be at least 1"},
		{"zero ship interval", "", []string{"--block.ship-interval=0s"}, "--block.ship-interval=0s: must be positive"},
		{"negative out-of-order window", "", []string{"--storage.out-of-order-window=-1m"}, "--storage.out-of-order-window=-1m0s: must not be negative"},
		{"zero max decoded bytes", "", []string{"--remote-write.max-decoded-bytes=0"}, "--remote-write.max-decoded-bytes=0: must be at least 1"},
		{"zero replication factor", "", []string{"--cluster.replication-factor=0"}, "--cluster.replication-factor=0: must be at least 1"},
		{"zero tokens", "", []string{"--cluster.tokens=0"}, "--cluster.tokens=0: must be at least 1"},
		{"short heartbeat timeout", "", []string{"--cluster.heartbeat-timeout=2s"}, "--cluster.heartbeat-timeout=2s: must be at least 3s"},
		{"zero peer timeout", "", []string{"--cluster.peer-timeout=0s"}, "--cluster.peer-timeout=0s: must be positive"},
		{"join without port", "", []string{"--cluster.join=node-a"}, "--cluster.join=node-a: must be host:port"},
		{"gossip address without port", "", []string{"--cluster.listen-address=7946"}, "--cluster.listen-address=7946: must be host:port"},
		{"missing peer client config", "", []string{"--cluster.client-config-file=/nonexistent.yml"}, "--cluster.client-config-file=/nonexistent.yml: "},
		{"replication factor from the file", "cluster:\n  replication_factor: 0\n", nil, "config key cluster.replication_factor: 0 in "},
		{"list for a single value", "storage:\n  path: [a, b]\n", nil, "config key storage.path must hold one value, not a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSettingsErr(t, tc.file, tc.args...)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "main.", "no Go type in the message")
		})
	}
}

// parseSettingsErr is parseSettings, returning a parse error instead of
// failing on it (a malformed flag value is refused by the parser).
func parseSettingsErr(t *testing.T, file string, args ...string) (settings, error) {
	t.Helper()
	app := kingpin.New("test", "")
	c := newServeCommand(app)
	if file != "" {
		path := filepath.Join(t.TempDir(), "config.yml")
		require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
		args = append(args, "--config.file="+path)
	}
	if _, err := app.Parse(append([]string{"serve"}, args...)); err != nil {
		return settings{}, err
	}
	return c.flags.resolve()
}

func TestByteSizes(t *testing.T) {
	for _, tc := range []struct {
		file string
		args []string
		want int64
	}{
		{"", nil, 10 << 30},
		{"", []string{"--block.cache-size=10GiB"}, 10 << 30},
		{"", []string{"--block.cache-size=512MiB"}, 512 << 20},
		{"", []string{"--block.cache-size=2GB"}, 2 << 30},
		{"", []string{"--block.cache-size=1048576"}, 1 << 20},
		{"block:\n  cache_size: 1TiB\n", nil, 1 << 40},
		{"block:\n  cache_size: 4096\n", nil, 4096},
	} {
		s, err := parseSettings(t, tc.file, tc.args...)
		require.NoError(t, err, "%q %v", tc.file, tc.args)
		require.Equal(t, tc.want, s.BlockCacheBytes, "%q %v", tc.file, tc.args)
	}
	s, err := parseSettings(t, "remote_write:\n  max_decoded_bytes: 64MiB\n", "--query.max-length=1KiB")
	require.NoError(t, err)
	require.Equal(t, 64<<20, s.MaxDecodedBytes)
	require.Equal(t, 1024, s.QueryMaxLength)
}

func TestDurationsTakeDays(t *testing.T) {
	s, err := parseSettings(t, "storage:\n  retention: 30d\n", "--head.retention=1d")
	require.NoError(t, err)
	require.Equal(t, 30*24*time.Hour, s.StorageRetention)
	require.Equal(t, 24*time.Hour, s.HeadRetention)
	s, err = parseSettings(t, "", "--block.ship-interval=1.5s")
	require.NoError(t, err)
	require.Equal(t, 1500*time.Millisecond, s.BlockShipInterval)
}

// TestHelpShowsServerFlags checks that the top-level help lists the
// default command's flags, as a server's --help does.
func TestHelpShowsServerFlags(t *testing.T) {
	app, _ := newApp()
	var out bytes.Buffer
	app.UsageWriter(&out)
	app.Terminate(func(int) {})
	_, _ = app.Parse([]string{"--help"})
	help := out.String()
	for _, want := range []string{"--storage.path", "--block.duration", "--web.listen-address", "Commands:", "demo", "compress"} {
		if !strings.Contains(help, want) {
			t.Fatalf("--help lacks %q:\n%s", want, help)
		}
	}
}
