package main

import (
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"
)

// settings are the server's settings, from flags and the optional YAML
// config file. A flag given on the command line wins over the file; the file
// wins over the flag's default.
type settings struct {
	ListenAddress    string
	StoragePath      string
	OutOfOrderWindow time.Duration
	HeadRetention    time.Duration
	BlockDuration    time.Duration
	WALFsync         string
	WALRepair        bool
	LogLevel         string
	LogFormat        string
	MaxDecodedBytes  int
	MaxSamplesRead   int
	LookbackDelta    time.Duration
	QueryTimeout     time.Duration
	QueryMaxSamples  int
	QueryConcurrency int
	QueryMaxInflight int
	QueryMaxLength   int
	// The HTTP server's bounds against slow and greedy clients.
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxConnections    int
	MaxInflightWrites int
	// Blocks in object storage.
	ObjstoreConfigFile string
	StorageRetention   time.Duration
	BlockCacheDir      string // default <StoragePath>/block-cache
	BlockCacheBytes    int64
	BlockShipInterval  time.Duration
	BlockSyncInterval  time.Duration
	Rollups            bool
	RollupInterval     time.Duration
	RawRetention       time.Duration
	// MaintenanceInterval is how often head retention and checkpoints run
	// (a hidden flag, for tests that cannot wait a minute).
	MaintenanceInterval time.Duration
}

// fileConfig is the YAML layout of --config.file: the flag names' dotted
// parts become nested keys, with dashes turned into underscores.
type fileConfig struct {
	Web struct {
		ListenAddress     *string         `yaml:"listen_address"`
		ReadTimeout       *model.Duration `yaml:"read_timeout"`
		WriteTimeout      *model.Duration `yaml:"write_timeout"`
		IdleTimeout       *model.Duration `yaml:"idle_timeout"`
		MaxConnections    *int            `yaml:"max_connections"`
		MaxInflightWrites *int            `yaml:"max_inflight_writes"`
	} `yaml:"web"`
	Storage struct {
		Path             *string         `yaml:"path"`
		OutOfOrderWindow *model.Duration `yaml:"out_of_order_window"`
		Retention        *model.Duration `yaml:"retention"`
		RetentionRaw     *model.Duration `yaml:"retention_raw"`
	} `yaml:"storage"`
	Objstore struct {
		ConfigFile *string `yaml:"config_file"`
	} `yaml:"objstore"`
	Head struct {
		Retention *model.Duration `yaml:"retention"`
	} `yaml:"head"`
	Block struct {
		Duration       *model.Duration `yaml:"duration"`
		CacheDir       *string         `yaml:"cache_dir"`
		CacheSize      *int64          `yaml:"cache_size"`
		ShipInterval   *model.Duration `yaml:"ship_interval"`
		SyncInterval   *model.Duration `yaml:"sync_interval"`
		Rollups        *bool           `yaml:"rollups"`
		RollupInterval *model.Duration `yaml:"rollup_interval"`
	} `yaml:"block"`
	WAL struct {
		Fsync  *string `yaml:"fsync"`
		Repair *bool   `yaml:"repair"`
	} `yaml:"wal"`
	Log struct {
		Level  *string `yaml:"level"`
		Format *string `yaml:"format"`
	} `yaml:"log"`
	Query struct {
		LookbackDelta  *model.Duration `yaml:"lookback_delta"`
		Timeout        *model.Duration `yaml:"timeout"`
		MaxSamples     *int            `yaml:"max_samples"`
		MaxConcurrency *int            `yaml:"max_concurrency"`
		MaxInflight    *int            `yaml:"max_inflight"`
		MaxLength      *int            `yaml:"max_length"`
	} `yaml:"query"`
}

// flagSet binds the settings to flags and remembers which the user gave.
type flagSet struct {
	s          settings
	configFile string
	given      map[string]*bool
}

func (f *flagSet) register(cmd *kingpin.CmdClause) {
	f.given = map[string]*bool{}
	flag := func(name, help string) *kingpin.FlagClause {
		b := new(bool)
		f.given[name] = b
		return cmd.Flag(name, help).IsSetByUser(b)
	}
	cmd.Flag("config.file", "Optional YAML file with the same settings as the flags (flags given on the command line win).").
		StringVar(&f.configFile)
	flag("web.listen-address", "Address to listen on for remote write, remote read and the API.").
		Default(":9201").StringVar(&f.s.ListenAddress)
	f.registerWeb(flag)
	flag("storage.path", "Directory for the write-ahead log and blocks.").
		Default("data").StringVar(&f.s.StoragePath)
	flag("storage.out-of-order-window", "How far behind the newest sample of its series a sample may be and still be accepted.").
		Default("1h").DurationVar(&f.s.OutOfOrderWindow)
	flag("head.retention", "How much recent data stays in memory.").
		Default("26h").DurationVar(&f.s.HeadRetention)
	flag("block.duration", "Length of a block window; chunks never cross its boundaries.").
		Default("2h").DurationVar(&f.s.BlockDuration)
	flag("storage.retention", "How long blocks stay in the bucket before they are deleted; 0 keeps them forever.").
		Default("0s").DurationVar(&f.s.StorageRetention)
	flag("objstore.config-file", "Thanos bucket configuration (type: FILESYSTEM|S3|GCS). Default: FILESYSTEM under <storage.path>/bucket.").
		StringVar(&f.s.ObjstoreConfigFile)
	flag("block.cache-dir", "Directory for blocks downloaded to answer queries. Default: <storage.path>/block-cache.").
		StringVar(&f.s.BlockCacheDir)
	flag("block.cache-size", "Most bytes of downloaded blocks kept on local disk (least recently used go first).").
		Default("10737418240").Int64Var(&f.s.BlockCacheBytes)
	flag("block.ship-interval", "How often closed windows are sealed and pending blocks uploaded.").
		Default("30s").DurationVar(&f.s.BlockShipInterval)
	flag("block.sync-interval", "How often the bucket's list of blocks is refreshed.").
		Default("5m").DurationVar(&f.s.BlockSyncInterval)
	flag("block.rollups", "Roll sealed blocks up into 5m and 1h downsampled blocks for long-range queries (--no-block.rollups turns it off).").
		Default("true").BoolVar(&f.s.Rollups)
	flag("block.rollup-interval", "How often the bucket is checked for blocks to roll up.").
		Default("5m").DurationVar(&f.s.RollupInterval)
	flag("storage.retention.raw", "Delete raw blocks older than this once their roll-ups exist; 0 keeps them.").
		Default("0s").DurationVar(&f.s.RawRetention)
	cmd.Flag("head.maintenance-interval", "How often head retention and WAL checkpoints are considered.").
		Hidden().Default("1m").DurationVar(&f.s.MaintenanceInterval)
	flag("wal.fsync", "WAL fsync policy: interval (every second and on segment cut) or always (before each write is acknowledged).").
		Default("interval").EnumVar(&f.s.WALFsync, "interval", "always")
	flag("wal.repair", "Start even if the WAL is damaged beyond its last segment or has missing segments: drop only the damaged records, logging what is dropped (docs/format/wal.md). For one start after an error.").
		Default("false").BoolVar(&f.s.WALRepair)
	flag("log.level", "Log level: debug, info, warn, error.").
		Default("info").EnumVar(&f.s.LogLevel, "debug", "info", "warn", "error")
	flag("log.format", "Log format: logfmt or json.").
		Default("logfmt").EnumVar(&f.s.LogFormat, "logfmt", "json")
	flag("remote-write.max-decoded-bytes", "Largest decompressed remote-write body accepted (413 above it).").
		Default("104857600").IntVar(&f.s.MaxDecodedBytes)
	flag("remote-read.max-samples-per-query", "Most samples one remote-read query may return (400 above it).").
		Default("50000000").IntVar(&f.s.MaxSamplesRead)
	flag("query.lookback-delta", "How far back an instant vector selector looks for a sample.").
		Default("5m").DurationVar(&f.s.LookbackDelta)
	flag("query.timeout", "Longest a PromQL query may run before it is cancelled (503 timeout).").
		Default("2m").DurationVar(&f.s.QueryTimeout)
	flag("query.max-samples", "Most samples one PromQL query may hold in memory (422 above it).").
		Default("50000000").IntVar(&f.s.QueryMaxSamples)
	flag("query.max-concurrency", "Most PromQL queries evaluated at once; the others wait.").
		Default("20").IntVar(&f.s.QueryConcurrency)
	flag("query.max-inflight", "Most query API requests served at once, those waiting for --query.max-concurrency included; more are answered 503 with Retry-After.").
		Default("128").IntVar(&f.s.QueryMaxInflight)
	flag("query.max-length", "Longest PromQL expression or selector accepted, in bytes (400 bad_data above it).").
		Default("262144").IntVar(&f.s.QueryMaxLength)
}

// registerWeb binds the HTTP server's bounds against slow and greedy
// clients. The defaults stay above what a Prometheus sender needs: its
// remote_timeout is 30s and its shards send one request at a time.
func (f *flagSet) registerWeb(flag func(name, help string) *kingpin.FlagClause) {
	flag("web.read-timeout", "Longest time to read a whole request, headers and body; a client sending slower is cut off. 0 disables.").
		Default("1m").DurationVar(&f.s.ReadTimeout)
	flag("web.write-timeout", "Longest time to answer a request; queries get --query.timeout on top, remote read gets it per streamed frame. 0 disables.").
		Default("1m").DurationVar(&f.s.WriteTimeout)
	flag("web.idle-timeout", "How long an idle keep-alive connection is kept open. 0 falls back to --web.read-timeout.").
		Default("2m").DurationVar(&f.s.IdleTimeout)
	flag("web.max-connections", "Most connections open at once; more wait to be accepted. 0 means no limit.").
		Default("512").IntVar(&f.s.MaxConnections)
	flag("web.max-inflight-writes", "Most remote-write requests handled at once; more are answered 503 with Retry-After.").
		Default("256").IntVar(&f.s.MaxInflightWrites)
}

// resolve applies the config file, if any, under the flags the user gave.
func (f *flagSet) resolve() (settings, error) {
	s := f.s
	if f.configFile == "" {
		return s, nil
	}
	raw, err := os.ReadFile(f.configFile)
	if err != nil {
		return s, fmt.Errorf("read config file: %w", err)
	}
	var fc fileConfig
	if err := yaml.UnmarshalStrict(raw, &fc); err != nil {
		return s, fmt.Errorf("parse config file %s: %w", f.configFile, err)
	}
	setStr := func(flag string, dst *string, v *string) {
		if v != nil && !*f.given[flag] {
			*dst = *v
		}
	}
	setDur := func(flag string, dst *time.Duration, v *model.Duration) {
		if v != nil && !*f.given[flag] {
			*dst = time.Duration(*v)
		}
	}
	setStr("web.listen-address", &s.ListenAddress, fc.Web.ListenAddress)
	setDur("web.read-timeout", &s.ReadTimeout, fc.Web.ReadTimeout)
	setDur("web.write-timeout", &s.WriteTimeout, fc.Web.WriteTimeout)
	setDur("web.idle-timeout", &s.IdleTimeout, fc.Web.IdleTimeout)
	setStr("storage.path", &s.StoragePath, fc.Storage.Path)
	setDur("storage.out-of-order-window", &s.OutOfOrderWindow, fc.Storage.OutOfOrderWindow)
	setDur("head.retention", &s.HeadRetention, fc.Head.Retention)
	setDur("block.duration", &s.BlockDuration, fc.Block.Duration)
	setDur("storage.retention", &s.StorageRetention, fc.Storage.Retention)
	setStr("objstore.config-file", &s.ObjstoreConfigFile, fc.Objstore.ConfigFile)
	setStr("block.cache-dir", &s.BlockCacheDir, fc.Block.CacheDir)
	setDur("block.ship-interval", &s.BlockShipInterval, fc.Block.ShipInterval)
	setDur("block.sync-interval", &s.BlockSyncInterval, fc.Block.SyncInterval)
	setDur("block.rollup-interval", &s.RollupInterval, fc.Block.RollupInterval)
	setDur("storage.retention.raw", &s.RawRetention, fc.Storage.RetentionRaw)
	if fc.Block.Rollups != nil && !*f.given["block.rollups"] {
		s.Rollups = *fc.Block.Rollups
	}
	if fc.Block.CacheSize != nil && !*f.given["block.cache-size"] {
		s.BlockCacheBytes = *fc.Block.CacheSize
	}
	setStr("wal.fsync", &s.WALFsync, fc.WAL.Fsync)
	if fc.WAL.Repair != nil && !*f.given["wal.repair"] {
		s.WALRepair = *fc.WAL.Repair
	}
	setStr("log.level", &s.LogLevel, fc.Log.Level)
	setStr("log.format", &s.LogFormat, fc.Log.Format)
	setDur("query.lookback-delta", &s.LookbackDelta, fc.Query.LookbackDelta)
	setDur("query.timeout", &s.QueryTimeout, fc.Query.Timeout)
	setInt := func(flag string, dst *int, v *int) {
		if v != nil && !*f.given[flag] {
			*dst = *v
		}
	}
	setInt("query.max-samples", &s.QueryMaxSamples, fc.Query.MaxSamples)
	setInt("query.max-concurrency", &s.QueryConcurrency, fc.Query.MaxConcurrency)
	setInt("query.max-inflight", &s.QueryMaxInflight, fc.Query.MaxInflight)
	setInt("query.max-length", &s.QueryMaxLength, fc.Query.MaxLength)
	setInt("web.max-connections", &s.MaxConnections, fc.Web.MaxConnections)
	setInt("web.max-inflight-writes", &s.MaxInflightWrites, fc.Web.MaxInflightWrites)
	if s.WALFsync != "interval" && s.WALFsync != "always" {
		return s, fmt.Errorf("config file %s: wal.fsync must be interval or always, not %q", f.configFile, s.WALFsync)
	}
	return s, nil
}
