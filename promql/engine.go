package promql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Logger        *slog.Logger
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
)

// Engine is the upstream PromQL engine with the limits it was built with.
type Engine struct {
	*upstream.Engine
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
	registerFunctionCalls()
	captured := &capture{}
	eng := upstream.NewEngine(upstream.EngineOpts{
		Logger:        opts.Logger,
		Reg:           captured,
		MaxSamples:    opts.MaxSamples,
		Timeout:       opts.Timeout,
		LookbackDelta: opts.LookbackDelta,
		// Prometheus's own tracker logs active queries to an mmapped file
		// under the data directory; a semaphore gives the same limit
		// without touching disk.
		ActiveQueryTracker:   newLimiter(opts.MaxConcurrent),
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               parser.NewParser(parser.Options{Functions: nativeFunctions(false)}),
		// A subquery without a step ([5m:]) takes Prometheus's default
		// evaluation interval; without this function the engine panics.
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
	})
	e := &Engine{Engine: eng, opts: opts, front: parser.NewParser(parser.Options{Functions: nativeFunctions(true)})}
	if err := e.metrics.register(opts.Registerer, captured); err != nil {
		return nil, fmt.Errorf("promql engine: %w", errors.Join(err, eng.Close()))
	}
	return e, nil
}

// Close unregisters the engine's metrics and closes the upstream engine.
func (e *Engine) Close() error {
	e.metrics.unregister()
	return e.Engine.Close()
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
