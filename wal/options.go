package wal

import (
	"fmt"
	"log/slog"
	"time"
)

// FsyncPolicy says when appended records are forced to stable storage.
type FsyncPolicy int

const (
	// FsyncInterval writes every batch to the file before Log returns (so it
	// survives a crash of the process) and fsyncs in the background every
	// Options.FsyncInterval and whenever a segment is cut. A power loss may
	// lose up to one interval of acknowledged records.
	FsyncInterval FsyncPolicy = iota
	// FsyncAlways fsyncs every batch before Log returns, so acknowledged
	// records survive power loss. Concurrent callers share one fsync.
	FsyncAlways
)

// ParseFsyncPolicy parses "interval" or "always", the strings String returns.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch s {
	case "interval":
		return FsyncInterval, nil
	case "always":
		return FsyncAlways, nil
	}
	return 0, fmt.Errorf("wal: unknown fsync policy %q, want interval or always", s)
}

// String returns "interval" or "always".
func (p FsyncPolicy) String() string {
	switch p {
	case FsyncInterval:
		return "interval"
	case FsyncAlways:
		return "always"
	}
	return fmt.Sprintf("FsyncPolicy(%d)", int(p))
}

// Options configures a WAL. The zero value is usable.
type Options struct {
	// SegmentSize is the largest size of a segment file in bytes. 0 means
	// MaxSegmentSize (128 MiB); larger values, and values too small to hold
	// a one-byte record (9), are an error.
	SegmentSize int64
	// Fsync is the durability policy.
	Fsync FsyncPolicy
	// FsyncInterval is the period of the background fsync under
	// FsyncInterval. 0 means one second.
	FsyncInterval time.Duration
	// Logger receives repair warnings and I/O failures. nil discards.
	Logger *slog.Logger
	// ObserveFsync, if set, is called after every fsync of a segment with
	// the time it took, for a latency histogram. It must be cheap and safe
	// for concurrent use.
	ObserveFsync func(time.Duration)
	// Now is the clock used to time fsyncs and unavailability. nil means
	// time.Now.
	Now func() time.Time
	// NewTicker, if set, makes the ticker that paces the background fsync
	// under FsyncInterval: it is called once as the WAL opens, with
	// FsyncInterval, and Close stops the ticker. nil means time.NewTicker.
	// A seam for tests that drive the loop tick by tick instead of sleeping.
	NewTicker func(d time.Duration) Ticker
	// Repair makes Open accept a damaged WAL and drop only what is damaged
	// (docs/format/wal.md, "Repair rules"): every segment after the newest
	// checkpoint and every segment of that checkpoint is checked and, if a
	// record in it cannot be read back, rewritten without the damaged bytes;
	// missing segments are recreated empty. Each drop is logged. Without
	// Repair only the last segment is repaired (a crash can damage only
	// that one), and Open fails with ErrMissingSegment on a gap, while a
	// Reader reports damage elsewhere as a *CorruptionError. Repair reads
	// the whole WAL once more at Open; it is meant for one start after an
	// error, not to be left on.
	Repair bool
	// CreateFile, if set, creates the file at path for writing, failing if
	// it exists, in place of os.OpenFile(path, O_WRONLY|O_CREATE|O_EXCL,
	// 0o666). The WAL creates its segments and its write probe (see
	// Recover) through it; checkpoints and repairs use the os package. A
	// seam for injecting write and fsync failures in tests.
	CreateFile func(path string) (File, error)
	// Compression, if set, compresses every record of at least 64 bytes
	// with this codec when that makes it shorter, outside the WAL's lock;
	// other records are written as they are. Each frame names its codec
	// (docs/format/wal.md, "Compressed frames"). nil writes every record
	// uncompressed, which is what the WAL did before codecs existed.
	Compression Codec
	// Codecs are the further codecs the records in the directory may have
	// been written with, under an earlier Compression. The WAL itself
	// never decodes; WAL.Codecs returns these with Compression, for the
	// Readers of the directory.
	Codecs []Codec
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.SegmentSize == 0:
		o.SegmentSize = MaxSegmentSize
	case o.SegmentSize > MaxSegmentSize:
		return o, fmt.Errorf("wal: segment size %d exceeds the maximum %d", o.SegmentSize, MaxSegmentSize)
	case o.SegmentSize < minSegmentSize:
		return o, fmt.Errorf("wal: segment size %d is below the minimum %d", o.SegmentSize, minSegmentSize)
	}
	if o.Fsync != FsyncInterval && o.Fsync != FsyncAlways {
		return o, fmt.Errorf("wal: invalid fsync policy %d", int(o.Fsync))
	}
	if o.FsyncInterval < 0 {
		return o, fmt.Errorf("wal: negative fsync interval %v", o.FsyncInterval)
	}
	if o.FsyncInterval == 0 {
		o.FsyncInterval = time.Second
	}
	for _, c := range append([]Codec{o.Compression}, o.Codecs...) {
		if c == nil {
			continue
		}
		if err := checkCodec(c); err != nil {
			return o, err
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CreateFile == nil {
		o.CreateFile = createFile
	}
	if o.NewTicker == nil {
		o.NewTicker = newTimeTicker
	}
	return o, nil
}

// Ticker delivers ticks on a channel until it is stopped, as *time.Ticker
// does. The background fsync runs once per tick received.
type Ticker interface {
	// C returns the channel the ticks arrive on; it is the same channel on
	// every call.
	C() <-chan time.Time
	// Stop ends the ticks; it does not close the channel.
	Stop()
}

// timeTicker is the Ticker of the standard library.
type timeTicker struct{ t *time.Ticker }

func newTimeTicker(d time.Duration) Ticker { return timeTicker{time.NewTicker(d)} }

func (t timeTicker) C() <-chan time.Time { return t.t.C }
func (t timeTicker) Stop()               { t.t.Stop() }
