package replication

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/ring"
	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// Appender buffers the samples of one write request until Commit. Its
// methods and their contract are those of remote.Appender, so a value of
// either type serves as the other.
type Appender interface {
	Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error)
	AppendHistogram(ref model.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (model.SeriesRef, error)
	AppendExemplar(ref model.SeriesRef, lset labels.Labels, e model.Exemplar) (model.SeriesRef, error)
	UpdateMetadata(metricFamily string, m model.Metadata) error
	Commit() error
	Rollback() error
}

// DefaultPeerTimeout bounds one push to a replica unless
// DistributorOptions.Timeout says otherwise.
const DefaultPeerTimeout = 5 * time.Second

// DistributorOptions configure a Distributor. Ring and Local are required.
type DistributorOptions struct {
	// Ring places series on replicas; its Self is this node.
	Ring ring.Ring
	// Local returns an appender over this node's own store for tenant.
	Local func(tenant string) (Appender, error)
	// Client sends pushes to the other replicas; nil means
	// http.DefaultClient. It carries the peers' TLS and credentials.
	Client *http.Client
	// Scheme of the replicas' addresses: "http" (the default) or "https".
	Scheme string
	// ReplicationFactor is the number of replicas of each series; 0 means
	// 3. The write quorum is ReplicationFactor/2+1.
	ReplicationFactor int
	// Timeout bounds one push to a replica; 0 means DefaultPeerTimeout.
	// A commit returns as soon as every series has its quorum; the pushes
	// still under way finish (or time out) in the background.
	Timeout time.Duration
	// Tenancy sends the tenant in X-Scope-OrgID with every push; without
	// it every request is of tenant.Anonymous and no header is sent.
	Tenancy bool
	Logger  *slog.Logger
	// Registerer receives the gorilla_replication_* metrics; nil means none.
	Registerer prometheus.Registerer
}

// Distributor stores each series of a write on its replicas with a write
// quorum (see the package documentation). It is safe for concurrent use;
// each Appender it returns is used by one goroutine.
type Distributor struct {
	opts    DistributorOptions
	quorum  int
	metrics *metrics
	// inflight counts pushes still running, those left behind by commits
	// that had their quorum included; Close waits for them.
	inflight sync.WaitGroup
}

// NewDistributor checks opts and registers the metrics.
func NewDistributor(opts DistributorOptions) (*Distributor, error) {
	if opts.Ring == nil || opts.Local == nil {
		return nil, errors.New("replication: Ring and Local are required")
	}
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.Scheme == "" {
		opts.Scheme = "http"
	}
	if opts.ReplicationFactor <= 0 {
		opts.ReplicationFactor = 3
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultPeerTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Distributor{opts: opts, quorum: opts.ReplicationFactor/2 + 1, metrics: m}, nil
}

// Wait returns once the pushes still under way, those commits left behind
// when they had their quorum, have finished or timed out.
func (d *Distributor) Wait() { d.inflight.Wait() }

// Close waits for the pushes still under way and unregisters the metrics.
func (d *Distributor) Close() {
	d.Wait()
	d.metrics.unregister()
}

// Appender returns an appender for a write of tenant.Anonymous.
func (d *Distributor) Appender() Appender {
	return &appender{d: d, tenant: tenant.Anonymous, series: map[uint32]int{}}
}

// TenantAppender returns an appender for a write of tenant id. It does not
// fail: each replica opens the tenant's store when the samples arrive.
func (d *Distributor) TenantAppender(id string) (Appender, error) {
	return &appender{d: d, tenant: id, series: map[uint32]int{}}, nil
}

// pendingSeries is one series of a write, with what it carries.
type pendingSeries struct {
	lset      labels.Labels // owned copy
	token     uint32
	next      int // index+1 of the next entry of the same token, 0 for none
	samples   []sample
	hists     []histSample
	exemplars []model.Exemplar
}

type sample struct {
	t int64
	v float64
}

// histSample is one native histogram: exactly one of h and fh is set.
type histSample struct {
	t  int64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// appender buffers a write by series until Commit.
type appender struct {
	d      *Distributor
	tenant string
	list   []pendingSeries
	// series finds the entry of a label set by its token, which hashes
	// the labels already: the index+1 of the first entry of the token,
	// other label sets of the same token chained through next. For
	// callers that pass no ref.
	series   map[uint32]int
	metadata map[string]model.Metadata
	done     bool
	// room is where the first sample of new series goes: most series of
	// a write carry one sample, so they share blocks instead of an
	// allocation each (firstRoom).
	room []sample
}

// roomBlock is the number of series whose first sample shares a block.
const roomBlock = 256

// firstRoom returns an empty slice with room for exactly one sample, cut
// from a shared block; a second sample moves the series' samples out.
func (a *appender) firstRoom() []sample {
	if len(a.room) == 0 {
		a.room = make([]sample, roomBlock)
	}
	s := a.room[0:0:1]
	a.room = a.room[1:]
	return s
}

// lookup returns the index of lset's entry, adding one when needed. ref,
// when not 0, is an index+1 returned earlier.
func (a *appender) lookup(ref model.SeriesRef, lset labels.Labels) (int, error) {
	if ref != 0 && int(ref) <= len(a.list) {
		return int(ref) - 1, nil
	}
	if lset.IsEmpty() {
		return 0, fmt.Errorf("series %s: %w", lset, model.ErrInvalidLabels)
	}
	token := ring.Token(a.tenant, lset)
	first := a.series[token]
	for i := first; i != 0; i = a.list[i-1].next {
		if labels.Equal(a.list[i-1].lset, lset) {
			return i - 1, nil
		}
	}
	a.list = append(a.list, pendingSeries{lset: lset.Copy(), token: token, next: first, samples: a.firstRoom()})
	a.series[token] = len(a.list)
	return len(a.list) - 1, nil
}

// Append implements Appender: it buffers the sample and returns the
// series' ref within this appender. Only an empty label set is refused;
// the replicas judge the rest at Commit.
func (a *appender) Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	i, err := a.lookup(ref, lset)
	if err != nil {
		return 0, err
	}
	a.list[i].samples = append(a.list[i].samples, sample{t, v})
	return model.SeriesRef(i + 1), nil
}

// AppendHistogram implements Appender: it buffers the histogram, which it
// then owns, like Append.
func (a *appender) AppendHistogram(ref model.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (model.SeriesRef, error) {
	if (h == nil) == (fh == nil) {
		return ref, errors.New("replication: exactly one of the integer and the float histogram must be set")
	}
	i, err := a.lookup(ref, lset)
	if err != nil {
		return 0, err
	}
	a.list[i].hists = append(a.list[i].hists, histSample{t: t, h: h, fh: fh})
	return model.SeriesRef(i + 1), nil
}

// AppendExemplar implements Appender, buffering the exemplar with its
// series.
func (a *appender) AppendExemplar(ref model.SeriesRef, lset labels.Labels, e model.Exemplar) (model.SeriesRef, error) {
	i, err := a.lookup(ref, lset)
	if err != nil {
		return 0, err
	}
	a.list[i].exemplars = append(a.list[i].exemplars, e)
	return model.SeriesRef(i + 1), nil
}

// UpdateMetadata implements Appender. The metadata is stored on this node
// and sent to every replica that receives a series of the family.
func (a *appender) UpdateMetadata(family string, m model.Metadata) error {
	if a.metadata == nil {
		a.metadata = map[string]model.Metadata{}
	}
	a.metadata[family] = m
	return nil
}

// Rollback implements Appender.
func (a *appender) Rollback() error {
	a.done = true
	a.list, a.series, a.metadata, a.room = nil, nil, nil, nil
	return nil
}

// Commit implements Appender: it stores every series on a write quorum of
// its replicas (commit.go).
func (a *appender) Commit() error {
	if a.done {
		return errors.New("replication: appender already committed or rolled back")
	}
	a.done = true
	start := time.Now()
	err := a.d.commit(a)
	a.d.metrics.observe(err, time.Since(start))
	return err
}
