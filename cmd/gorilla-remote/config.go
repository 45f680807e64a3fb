package main

import (
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/gorilla-remote/gorilla-remote/limits"
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
	WALCompression   string
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
	QueryShards      int
	// The HTTP server's bounds against slow and greedy clients.
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxConnections    int
	MaxInflightWrites int
	// WebConfigFile is the exporter-toolkit web configuration (TLS and
	// basic auth, webconfig.go); empty serves plain HTTP without auth.
	WebConfigFile string
	// TenancyEnabled serves many tenants, each named by a request's
	// X-Scope-OrgID header, each with its own storage (docs/tenants.md).
	TenancyEnabled bool
	// EnableAdminAPI serves /api/v1/admin/tsdb/* (docs/admin.md).
	EnableAdminAPI bool
	// Blocks in object storage.
	ObjstoreConfigFile string
	StorageRetention   time.Duration
	BlockCacheDir      string // default <StoragePath>/block-cache
	BlockCacheBytes    int64
	BlockShipInterval  time.Duration
	BlockSyncInterval  time.Duration
	Rollups            bool
	RollupInterval     time.Duration
	CompactionInterval time.Duration
	RawRetention       time.Duration
	// ChunkEncoding is how sealed, rolled-up and merged blocks store their
	// chunks: xor, xor2 or dense (docs/format/block.md).
	ChunkEncoding string
	// EnableLifecycle turns on POST /-/reload and /-/quit.
	EnableLifecycle bool
	// ConfigFile is --config.file, "" for none (set by resolve).
	ConfigFile string
	// MaintenanceInterval is how often head retention and checkpoints run
	// (a hidden flag, for tests that cannot wait a minute).
	MaintenanceInterval time.Duration
	// Per-tenant limits: the defaults from the flags, overrides from the
	// file; and the memory guard of new series.
	LimitsConfigFile string
	Limits           limits.Limits
	MemoryLimit      memoryLimit
	// Cross-region replication (regions.go): this region's name and the
	// remote regions of the config file's replication.regions.
	Region  string
	Regions []regionConfig
	// Cluster mode (cluster_config.go).
	Cluster clusterSettings
	// OTLP ingestion (otlp.go).
	OTLP otlpSettings
}

// flagSet binds the settings to flags and remembers which the user gave.
// Every flag but --config.file has a key in the config file (configKey).
type flagSet struct {
	s          settings
	configFile string
	flags      map[string]*kingpin.FlagClause // by flag name
	given      map[string]*bool               // by flag name: set on the command line
	values     map[string]kingpin.Value       // by flag name: the value, unwrapped from namedValue
	fromFile   map[string]bool                // by flag name: set by the config file (resolve)
}

// register defines the serve command's flags on cmd.
func (f *flagSet) register(cmd *kingpin.CmdClause) {
	f.given = map[string]*bool{}
	f.flags = map[string]*kingpin.FlagClause{}
	flag := func(name, help string) *kingpin.FlagClause {
		b := new(bool)
		f.given[name] = b
		fc := cmd.Flag(name, help).IsSetByUser(b)
		f.flags[name] = fc
		return fc
	}
	cmd.Flag("config.file", "Optional YAML file with the same settings as the flags (flags given on the command line win).").
		StringVar(&f.configFile)
	flag("web.listen-address", "Address to listen on for remote write, remote read and the API.").
		Default(":9201").StringVar(&f.s.ListenAddress)
	f.registerWeb(flag)
	flag("web.enable-admin-api", "Serve the TSDB admin endpoints (snapshot, delete_series, clean_tombstones) under /api/v1/admin/tsdb/; without it they answer 503 as Prometheus does.").
		Default("false").BoolVar(&f.s.EnableAdminAPI)
	f.registerLimits(flag)
	f.registerCluster(flag)
	f.registerOTLP(flag)
	flag("tenancy.enabled", "Serve many tenants: every data request names its tenant in the X-Scope-OrgID header (401 without one), and each tenant's data is kept apart on disk, in the bucket and in queries (docs/tenants.md). Off, there is one tenant and the header is ignored.").
		Default("false").BoolVar(&f.s.TenancyEnabled)
	flag("replication.region", "This region's name, sent with every write forwarded to the regions of the config file's replication.regions (docs/replication.md).").
		StringVar(&f.s.Region)
	flag("storage.path", "Directory for the write-ahead log and blocks.").
		Default("data").StringVar(&f.s.StoragePath)
	flag("storage.out-of-order-window", "How far behind the newest sample of its series a sample may be and still be accepted.").
		Default("1h").SetValue(durationValue{&f.s.OutOfOrderWindow})
	flag("head.retention", "How much recent data stays in memory.").
		Default("26h").SetValue(durationValue{&f.s.HeadRetention})
	flag("block.duration", "Length of a block window, a whole number of 5m; chunks never cross its boundaries.").
		Default("2h").SetValue(durationValue{&f.s.BlockDuration})
	flag("storage.retention", "How long blocks stay in the bucket before they are deleted; 0 keeps them forever.").
		Default("0s").SetValue(durationValue{&f.s.StorageRetention})
	flag("objstore.config-file", "Thanos bucket configuration (type: FILESYSTEM|S3|GCS). Default: FILESYSTEM under <storage.path>/bucket.").
		StringVar(&f.s.ObjstoreConfigFile)
	flag("block.cache-dir", "Directory for blocks downloaded to answer queries. Default: <storage.path>/block-cache.").
		StringVar(&f.s.BlockCacheDir)
	flag("block.cache-size", "Most bytes of downloaded blocks kept on local disk (least recently used go first); takes units (512MiB, 10GiB) or a plain number of bytes.").
		Default("10GiB").SetValue(bytesValue{&f.s.BlockCacheBytes})
	flag("block.ship-interval", "How often closed windows are sealed and pending blocks uploaded.").
		Default("30s").SetValue(durationValue{&f.s.BlockShipInterval})
	flag("block.sync-interval", "How often the bucket's list of blocks is refreshed.").
		Default("5m").SetValue(durationValue{&f.s.BlockSyncInterval})
	flag("block.rollups", "Roll sealed blocks up into 5m and 1h downsampled blocks for long-range queries (--no-block.rollups turns it off).").
		Default("true").BoolVar(&f.s.Rollups)
	flag("block.rollup-interval", "How often the bucket is checked for blocks to roll up.").
		Default("5m").SetValue(durationValue{&f.s.RollupInterval})
	flag("block.compaction-interval", "How often, in a cluster, the replica blocks of closed windows are merged, and merged ones deleted on the next pass.").
		Default("5m").SetValue(durationValue{&f.s.CompactionInterval})
	flag("block.chunk-encoding", "How sealed blocks, roll-ups and merged blocks store chunks: xor (readable by every Prometheus tool), xor2 (Prometheus 3.16's encoding, readable by Prometheus 3.16 and later) or dense (ours, smallest, readable by gorilla-remote only; docs/format/dense.md).").
		Default("xor").EnumVar(&f.s.ChunkEncoding, "xor", "xor2", "dense")
	flag("storage.retention.raw", "Delete raw blocks older than this once their roll-ups exist; 0 keeps them.").
		Default("0s").SetValue(durationValue{&f.s.RawRetention})
	flag("head.maintenance-interval", "How often head retention and WAL checkpoints are considered.").
		Hidden().Default("1m").SetValue(durationValue{&f.s.MaintenanceInterval})
	flag("wal.fsync", "WAL fsync policy: interval (every second and on segment cut) or always (before each write is acknowledged).").
		Default("interval").EnumVar(&f.s.WALFsync, "interval", "always")
	flag("wal.compression", "Compression of WAL records: zstd, snappy or none. Records of every codec replay whatever the setting (docs/format/wal.md).").
		Default("zstd").EnumVar(&f.s.WALCompression, "zstd", "snappy", "none")
	flag("wal.repair", "Start even if the WAL is damaged beyond its last segment or has missing segments: drop only the damaged records, logging what is dropped (docs/format/wal.md). For one start after an error.").
		Default("false").BoolVar(&f.s.WALRepair)
	flag("log.level", "Log level: debug, info, warn, error.").
		Default("info").EnumVar(&f.s.LogLevel, "debug", "info", "warn", "error")
	flag("log.format", "Log format: logfmt or json.").
		Default("logfmt").EnumVar(&f.s.LogFormat, "logfmt", "json")
	f.registerQuery(flag)
	f.values = map[string]kingpin.Value{}
	for name, fc := range f.flags {
		v := fc.Model().Value
		f.values[name] = v
		fc.SetValue(namedValue{name, v})
	}
}

// registerQuery binds the bounds of remote write and read bodies and of
// PromQL queries: how big, how long, how many at once, and in how many parts
// an aggregation is evaluated.
func (f *flagSet) registerQuery(flag func(name, help string) *kingpin.FlagClause) {
	flag("remote-write.max-decoded-bytes", "Largest decompressed remote-write body accepted (413 above it); takes units (64MiB) or a plain number of bytes.").
		Default("100MiB").SetValue(intBytesValue{&f.s.MaxDecodedBytes})
	flag("remote-read.max-samples-per-query", "Most samples one remote-read query may return (400 above it).").
		Default("50000000").IntVar(&f.s.MaxSamplesRead)
	flag("query.lookback-delta", "How far back an instant vector selector looks for a sample.").
		Default("5m").SetValue(durationValue{&f.s.LookbackDelta})
	flag("query.timeout", "Longest a PromQL query may run before it is cancelled (503 timeout).").
		Default("2m").SetValue(durationValue{&f.s.QueryTimeout})
	flag("query.max-samples", "Most samples one PromQL query may hold in memory (422 above it).").
		Default("50000000").IntVar(&f.s.QueryMaxSamples)
	flag("query.max-concurrency", "Most PromQL queries evaluated at once, at least 1; the others wait.").
		Default("20").IntVar(&f.s.QueryConcurrency)
	flag("query.max-inflight", "Most query API requests served at once, those waiting for --query.max-concurrency included; more are answered 503 with Retry-After.").
		Default("128").IntVar(&f.s.QueryMaxInflight)
	flag("query.shards", "Parts one PromQL aggregation over independent series is split into, evaluated at once on as many cores; 0 takes the number of cores, at most 8; 1 evaluates each query on one core.").
		Default("0").IntVar(&f.s.QueryShards)
	flag("query.max-length", "Longest PromQL expression or selector accepted (400 bad_data above it); takes units (4KiB) or a plain number of bytes.").
		Default("256KiB").SetValue(intBytesValue{&f.s.QueryMaxLength})
}

// registerWeb binds the HTTP server's bounds against slow and greedy
// clients, and its web configuration file. The defaults stay above what a
// Prometheus sender needs: its remote_timeout is 30s and its shards send
// one request at a time.
func (f *flagSet) registerWeb(flag func(name, help string) *kingpin.FlagClause) {
	flag("web.read-timeout", "Longest time to read a whole request, headers and body; a client sending slower is cut off. 0 disables.").
		Default("1m").SetValue(durationValue{&f.s.ReadTimeout})
	flag("web.write-timeout", "Longest time to answer a request; queries get --query.timeout on top, remote read gets it per streamed frame. 0 disables.").
		Default("1m").SetValue(durationValue{&f.s.WriteTimeout})
	flag("web.idle-timeout", "How long an idle keep-alive connection is kept open. 0 falls back to --web.read-timeout.").
		Default("2m").SetValue(durationValue{&f.s.IdleTimeout})
	flag("web.max-connections", "Most connections open at once; more wait to be accepted. 0 means no limit.").
		Default("512").IntVar(&f.s.MaxConnections)
	flag("web.enable-lifecycle", "Serve POST /-/reload (reload the configuration, as SIGHUP does) and POST /-/quit (shut down, as SIGTERM does); without it both answer 403.").
		Default("false").BoolVar(&f.s.EnableLifecycle)
	flag("web.max-inflight-writes", "Most remote-write requests handled at once; more are answered 503 with Retry-After.").
		Default("256").IntVar(&f.s.MaxInflightWrites)
	flag("web.config.file", "Web configuration file (TLS, basic auth with bcrypt hashes), the one every Prometheus component takes; re-read on each request and TLS handshake (docs/security.md). Unset: plain HTTP, no auth.").
		StringVar(&f.s.WebConfigFile)
}
