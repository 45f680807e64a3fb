package promql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	upstream "github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// EngineOptions configure the PromQL engine. Zero values take the
// defaults below.
type EngineOptions struct {
	// LookbackDelta is how far back an instant vector selector looks for a
	// sample (default 5m).
	LookbackDelta time.Duration
	// Timeout bounds one query's evaluation (default 2m).
	Timeout time.Duration
	// MaxSamples is the most samples one query may hold in memory at once
	// (default 50,000,000); above it the query fails with execution error.
	MaxSamples int
	// MaxConcurrent is how many queries run at once (default 20); the
	// others wait, and give up when their request is cancelled.
	MaxConcurrent int
	// Shards is how many parts of its series one aggregation is split
	// into, evaluated at once on as many goroutines (see shard_plan.go).
	// Default: GOMAXPROCS, at most DefaultMaxShards; 1 evaluates every
	// query on one goroutine, as the upstream engine does.
	Shards int
	Logger *slog.Logger
	// Registerer, if set, receives the engine's metrics, named
	// gorilla_prometheus_engine_*; Close unregisters them.
	Registerer prometheus.Registerer
}

// Engine defaults, the same as Prometheus's.
const (
	DefaultLookbackDelta = 5 * time.Minute
	DefaultTimeout       = 2 * time.Minute
	DefaultMaxSamples    = 50_000_000
	DefaultMaxConcurrent = 20
	// DefaultMaxShards caps the default of EngineOptions.Shards.
	DefaultMaxShards = 8
)

// Engine is the upstream PromQL engine with the limits it was built with.
type Engine struct {
	*upstream.Engine
	// inner evaluates the shards of sharded queries and their rewritten
	// form, without query slots: a sharded query holds one of slots,
	// the upstream engine's, for all of them.
	inner   *upstream.Engine
	slots   *limiter
	opts    EngineOptions
	front   parser.Parser // knows the functions expand rewrites (functions.go)
	metrics engineMetrics
}

// NewEngine builds the upstream engine with the @ modifier and negative
// offsets enabled, as Prometheus has them since 2.33. It fails only when
// the metrics cannot be registered (a clash on opts.Registerer), with an
// error naming the metric; nothing stays registered then.
func NewEngine(opts EngineOptions) (*Engine, error) {
	if opts.LookbackDelta <= 0 {
		opts.LookbackDelta = DefaultLookbackDelta
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = DefaultMaxSamples
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Shards <= 0 {
		opts.Shards = min(runtime.GOMAXPROCS(0), DefaultMaxShards)
	}
	registerFunctionCalls()
	captured := &capture{}
	slots := newLimiter(opts.MaxConcurrent)
	eng := upstream.NewEngine(engineOpts(opts, captured, slots))
	inner := upstream.NewEngine(engineOpts(opts, nil, nil))
	e := &Engine{
		Engine: eng, inner: inner, slots: slots, opts: opts,
		front: parser.NewParser(parser.Options{Functions: nativeFunctions(true)}),
	}
	if err := e.metrics.register(opts.Registerer, captured); err != nil {
		return nil, fmt.Errorf("promql engine: %w", errors.Join(err, eng.Close(), inner.Close()))
	}
	return e, nil
}

// engineOpts are the upstream engine's options; reg and slots may be nil.
func engineOpts(opts EngineOptions, reg prometheus.Registerer, slots *limiter) upstream.EngineOpts {
	o := upstream.EngineOpts{
		Logger:               opts.Logger,
		Reg:                  reg,
		MaxSamples:           opts.MaxSamples,
		Timeout:              opts.Timeout,
		LookbackDelta:        opts.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               parser.NewParser(parser.Options{Functions: nativeFunctions(false)}),
		// A subquery without a step ([5m:]) takes Prometheus's default
		// evaluation interval; without this function the engine panics.
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
	}
	if slots != nil {
		// Prometheus's own tracker logs active queries to an mmapped file
		// under the data directory; a semaphore gives the same limit
		// without touching disk.
		o.ActiveQueryTracker = slots
	}
	return o
}

// Close unregisters the engine's metrics and closes the upstream engines.
func (e *Engine) Close() error {
	e.metrics.unregister()
	return errors.Join(e.Engine.Close(), e.inner.Close())
}

// Options returns the options after defaults were applied.
func (e *Engine) Options() EngineOptions { return e.opts }

// limiter is a QueryTracker that only bounds concurrency.
type limiter struct{ sem chan struct{} }

func newLimiter(n int) *limiter { return &limiter{sem: make(chan struct{}, n)} }

func (l *limiter) GetMaxConcurrent() int { return cap(l.sem) }

// Insert blocks until a slot is free or ctx is done.
func (l *limiter) Insert(ctx context.Context, _ string) (int, error) {
	select {
	case l.sem <- struct{}{}:
		return 0, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for a query slot: %w", ctx.Err())
	}
}

func (l *limiter) Delete(int) { <-l.sem }

func (l *limiter) Close() error { return nil }
