package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/tenant"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// ReplicatedFromHeader names, on a request a Forwarder sends, the region it
// comes from. A request carrying it is never forwarded again, so regions
// may forward to each other.
const ReplicatedFromHeader = "X-Gorilla-Replicated-From"

// Defaults of ForwarderOptions.
const (
	DefaultConcurrency   = 4
	DefaultBatchRequests = 64
	DefaultBatchBytes    = 16 << 20
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultLaggingAfter  = 30 * time.Second
)

// RegionOptions names one remote region and bounds its queue.
type RegionOptions struct {
	// Name is the region's name: its queue's directory and the region
	// label of the metrics. It must be a valid directory name.
	Name string
	// URL is the region's public remote-write endpoint
	// (https://host:port/api/v1/write).
	URL string
	// Client sends to the region, with its authentication and TLS; nil
	// means http.DefaultClient.
	Client *http.Client
	// MaxLag and MaxQueueBytes bound the queue (QueueOptions.MaxLag and
	// MaxBytes); 0 is no bound.
	MaxLag        time.Duration
	MaxQueueBytes int64
	// Concurrency, MinBackoff and MaxBackoff, when not 0, replace the
	// forwarder's for this region.
	Concurrency            int
	MinBackoff, MaxBackoff time.Duration
}

// ForwarderOptions configures a Forwarder.
type ForwarderOptions struct {
	// Region is this region's name, sent as X-Gorilla-Replicated-From.
	// Required.
	Region string
	// Dir holds one queue directory per remote region. Required.
	Dir string
	// Regions are the remote regions; none makes a Forwarder that
	// forwards nothing.
	Regions []RegionOptions
	// Concurrency is how many requests are in flight to one region at
	// once; 0 means DefaultConcurrency. Requests sent at once may arrive
	// out of order, which the peer's out-of-order window absorbs; 1
	// keeps the order.
	Concurrency int
	// BatchRequests and BatchBytes bound the window of queued requests a
	// sender takes at once, sends with Concurrency and acknowledges as
	// one; 0 means the defaults.
	BatchRequests int
	BatchBytes    int64
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// attempts at one request; a Retry-After answer waits at least as long
	// as it says. 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// LaggingAfter is the lag above which a region's state is lagging;
	// 0 means DefaultLaggingAfter.
	LaggingAfter time.Duration
	// MaxBodyBytes bounds the compressed body Wrap reads (413 above it);
	// 0 means 100 MiB.
	MaxBodyBytes int64
	// Fsync is the queues' fsync policy.
	Fsync wal.FsyncPolicy
	// Registerer takes the gorilla_replication_region_* metrics; nil
	// registers none.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock and After the timer of the backoff; nil means
	// time.Now and time.After. Seams for tests.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

func (o *ForwarderOptions) defaults() {
	setDefault(&o.Concurrency, DefaultConcurrency)
	setDefault(&o.BatchRequests, DefaultBatchRequests)
	setDefault(&o.BatchBytes, DefaultBatchBytes)
	setDefault(&o.MinBackoff, DefaultMinBackoff)
	setDefault(&o.MaxBackoff, DefaultMaxBackoff)
	setDefault(&o.Timeout, DefaultTimeout)
	setDefault(&o.LaggingAfter, DefaultLaggingAfter)
	setDefault(&o.MaxBodyBytes, 100<<20)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Forwarder replicates the remote writes a region accepts to every other
// region, asynchronously: active-active, each region accepting writes at
// all times, every region eventually holding every region's data.
//
// Wrap puts it around the public remote-write handler. Once the local
// write succeeded (a 2xx, or a 400 naming refused series, after which the
// rest is stored), the request body, as the client sent it, goes into one
// durable queue per remote region (a WAL under Dir/<region>) before the
// answer is sent: a crash after the answer loses nothing that was
// acknowledged, once the queue drains. A request that cannot be queued
// (the disk is full) is answered 503, so its sender retries; the local
// store accepts the same samples again as a no-op.
//
// Run runs one sender per region: it takes windows of queued requests,
// sends them with bounded concurrency, with the tenant header kept and
// X-Gorilla-Replicated-From naming this region, and retries 5xx, 429 and
// network errors with exponential backoff that honours Retry-After. A 4xx
// other than 429 is counted as failed and dropped, as Prometheus's sender
// does. A request carrying X-Gorilla-Replicated-From is never queued, so
// nothing is forwarded twice.
//
// A region that is down never blocks local writes and never grows memory:
// its backlog is on disk, bounded by MaxLag and MaxQueueBytes; beyond
// either the oldest requests are dropped and counted. That bound is the
// worst-case recovery point of a region lost for good.
//
//	f, err := replication.NewForwarder(replication.ForwarderOptions{
//		Region: "eu-west", Dir: filepath.Join(storagePath, "replication"),
//		Regions: []replication.RegionOptions{{Name: "us-east", URL: "https://us.example:9201/api/v1/write"}},
//	})
//	mux.Handle("/api/v1/write", f.Wrap(writeHandler))
//	go f.Run(ctx)   // until ctx is cancelled
//	defer f.Close() // after Run returned and the HTTP server stopped
//
// docs/replication.md describes the model for operators.
type Forwarder struct {
	opts    ForwarderOptions
	senders []*sender
	metrics *regionMetrics
	once    sync.Once
}

// NewForwarder opens the queue of every region.
func NewForwarder(opts ForwarderOptions) (*Forwarder, error) {
	opts.defaults()
	if opts.Region == "" {
		return nil, errors.New("replication: this region has no name")
	}
	f := &Forwarder{opts: opts}
	seen := map[string]bool{}
	for _, ro := range opts.Regions {
		if err := checkRegion(ro, opts.Region, seen); err != nil {
			return nil, errors.Join(err, f.closeQueues())
		}
		q, err := OpenQueue(filepath.Join(opts.Dir, ro.Name), QueueOptions{
			MaxBytes: ro.MaxQueueBytes, MaxLag: ro.MaxLag, Fsync: opts.Fsync, Now: opts.Now,
			Logger: opts.Logger.With("region", ro.Name),
		})
		if err != nil {
			return nil, errors.Join(err, f.closeQueues())
		}
		f.senders = append(f.senders, newSender(ro, q, &f.opts))
	}
	m, err := newRegionMetrics(opts.Registerer, f)
	if err != nil {
		return nil, errors.Join(err, f.closeQueues())
	}
	f.metrics = m
	return f, nil
}

// checkRegion refuses a region without a name or URL, named like this
// region, named twice or whose name is not a plain directory name.
func checkRegion(ro RegionOptions, self string, seen map[string]bool) error {
	switch {
	case ro.Name == "" || ro.URL == "":
		return fmt.Errorf("replication: region %q needs a name and a url", ro.Name)
	case ro.Name == self:
		return fmt.Errorf("replication: region %q is this region", ro.Name)
	case seen[ro.Name]:
		return fmt.Errorf("replication: region %q given twice", ro.Name)
	case ro.Name != filepath.Base(ro.Name) || ro.Name == "." || ro.Name == "..":
		return fmt.Errorf("replication: region name %q is not a plain name", ro.Name)
	}
	seen[ro.Name] = true
	return nil
}

// Enqueue appends r to the queue of every region. An error means some
// queue does not hold it; the write must then be refused so that it is
// sent again (the regions that queued it receive it twice, a no-op).
func (f *Forwarder) Enqueue(r Request) error {
	var errs []error
	for _, s := range f.senders {
		if err := s.q.Append(r); err != nil {
			errs = append(errs, fmt.Errorf("region %s: %w", s.opts.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Run sends every region's queue until ctx is cancelled, then returns nil
// once every sender stopped. Requests in flight are sent again after a
// restart.
func (f *Forwarder) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, s := range f.senders {
		wg.Go(func() { s.run(ctx) })
	}
	wg.Wait()
	return nil
}

// Close unregisters the metrics and closes the queues, persisting their
// positions. Run must have returned.
func (f *Forwarder) Close() error {
	var err error
	f.once.Do(func() {
		if f.metrics != nil {
			f.metrics.unregister()
		}
		err = f.closeQueues()
	})
	return err
}

func (f *Forwarder) closeQueues() error {
	var errs []error
	for _, s := range f.senders {
		errs = append(errs, s.q.Close())
	}
	return errors.Join(errs...)
}

// tenantOf returns the tenant header of r, as the peer must see it.
func tenantOf(r *http.Request) string { return r.Header.Get(tenant.Header) }
