package head

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// Options configure a Head. The zero value of every field selects the
// default given in its comment.
type Options struct {
	// Dir holds the head's WAL (in Dir/wal). Required.
	Dir string
	// BlockDuration is the length of a block window; chunks never cross a
	// window boundary. Windows are aligned to multiples of it since the epoch.
	// Default 2h.
	BlockDuration time.Duration
	// OutOfOrderWindow is how far behind the newest sample of its series a
	// sample may be and still be accepted, and how long after its end a
	// window stays open. Default 1h; model.OutOfOrderOff refuses every
	// out-of-order sample.
	//
	// The head owns both durations: Head.Windows hands them, as one
	// model.Windows, to whatever else cuts time (the block shipper, queries).
	OutOfOrderWindow time.Duration
	// Retention is how much data, back from the newest sample in the head,
	// stays in memory. Default 26h, as in the Gorilla paper.
	Retention time.Duration
	// Stripes is the number of lock stripes of the series map, a power of
	// two. Default 16384.
	Stripes int
	// MaxExemplarsPerSeries bounds the recent exemplars kept per series.
	// Default 10.
	MaxExemplarsPerSeries int
	// MaintenanceInterval is how often retention and checkpoint conditions
	// are checked in the background. Default 1m; negative disables the
	// background loop (callers then call Truncate and Checkpoint).
	MaintenanceInterval time.Duration
	// CheckpointBytes starts a checkpoint once the records logged since the
	// last one exceed it in length before compression, even if no block
	// window closed, so that what a restart replays is bounded whatever the
	// WAL's codec. Default 1 GiB.
	CheckpointBytes int64
	// Shipping is set when a block shipper uploads the head's closed windows
	// (see SealBefore and SetShipped): retention then releases only data
	// the shipper reported uploaded, checkpoints leave out the chunks of
	// uploaded windows, and a checkpoint is taken whenever more windows are
	// reported uploaded. After a restart, LoadSealed brings those windows
	// back from their blocks.
	Shipping bool
	// WAL configures the write-ahead log (segment size, fsync policy,
	// Compression (WALCodec makes it from a name), and Repair to start on a
	// damaged WAL: see wal.Options). The head adds its codecs to
	// WAL.Codecs, so it replays records of any of them.
	WAL wal.Options
	// Logger receives progress and warnings. Default: discard.
	Logger *slog.Logger
	// Registerer, if set, receives the head's metrics.
	Registerer prometheus.Registerer
	// Limiter, if set, is asked before an append creates a series, and told
	// of every series the head holds. nil: series are not limited.
	Limiter SeriesLimiter
}

// SeriesLimiter bounds the series of a head (limits.TenantSeries is one).
// Its methods are called concurrently, and the label sets passed are valid
// only during the call.
type SeriesLimiter interface {
	// AdmitSeries is called before an append creates a series with lset.
	// nil lets it be created and counts it; an error (model.ErrSeriesLimit,
	// model.ErrMemoryLimit) is returned by the append, and the series is
	// not created. A counted series that another append created first is
	// given back with RemoveSeries.
	AdmitSeries(lset labels.Labels) error
	// AddSeries counts a series created without asking: replayed from the
	// WAL or a checkpoint, loaded from a sealed block, or created again for
	// samples already accepted after retention dropped it.
	AddSeries(lset labels.Labels)
	// RemoveSeries stops counting a series retention dropped.
	RemoveSeries(lset labels.Labels)
}

// noLimit is the SeriesLimiter of a head without Options.Limiter.
type noLimit struct{}

func (noLimit) AdmitSeries(labels.Labels) error { return nil }
func (noLimit) AddSeries(labels.Labels)         {}
func (noLimit) RemoveSeries(labels.Labels)      {}

// Defaults of Options.
const (
	DefaultBlockDuration         = model.DefaultBlockDuration
	DefaultOutOfOrderWindow      = model.DefaultOutOfOrderWindow
	DefaultRetention             = 26 * time.Hour
	DefaultStripes               = 16384
	DefaultMaxExemplarsPerSeries = 10
	DefaultMaintenanceInterval   = time.Minute
	DefaultCheckpointBytes       = 1 << 30

	// oooCompactAt is the out-of-order buffer size at which a series
	// re-encodes its chunks with the buffered samples merged in.
	oooCompactAt = 32
)

// withDefaults fills in the defaults and returns the head's windows.
func (o Options) withDefaults() (Options, model.Windows, error) {
	if o.Dir == "" {
		return o, model.Windows{}, fmt.Errorf("head: Options.Dir is required")
	}
	win, err := model.NewWindows(o.BlockDuration, o.OutOfOrderWindow)
	if err != nil {
		return o, win, fmt.Errorf("head: %w", err)
	}
	o.BlockDuration, o.OutOfOrderWindow = win.BlockDuration(), win.OutOfOrderWindow()
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Retention, DefaultRetention)
	def(&o.MaintenanceInterval, DefaultMaintenanceInterval)
	if o.Retention < 0 {
		return o, win, fmt.Errorf("head: retention %v must be positive", o.Retention)
	}
	if o.Stripes == 0 {
		o.Stripes = DefaultStripes
	}
	if o.Stripes < 0 || o.Stripes&(o.Stripes-1) != 0 {
		return o, win, fmt.Errorf("head: stripes %d is not a power of two", o.Stripes)
	}
	if o.MaxExemplarsPerSeries == 0 {
		o.MaxExemplarsPerSeries = DefaultMaxExemplarsPerSeries
	}
	if o.CheckpointBytes == 0 {
		o.CheckpointBytes = DefaultCheckpointBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Limiter == nil {
		o.Limiter = noLimit{}
	}
	if o.WAL.Logger == nil {
		o.WAL.Logger = o.Logger
	}
	o.WAL.Codecs = walCodecs(o.WAL)
	return o, win, nil
}
