package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/ring"
)

// Defaults of PeerOptions.
const (
	DefaultReadTimeout      = 30 * time.Second
	DefaultHeartbeatTimeout = time.Minute
	DefaultMaxFrameBytes    = 64 << 20
)

// PeerOptions configure a PeerQueryable. Ring is required; every zero
// field takes its default.
type PeerOptions struct {
	// Ring names the peers: every member but Self whose state is ACTIVE or
	// LEAVING is asked.
	Ring ring.Ring
	// Client sends the requests; it carries the peers' authentication
	// (basic auth, TLS). Default http.DefaultClient.
	Client *http.Client
	// Scheme is the peers' URL scheme, "http" or "https". Default "http".
	Scheme string
	// Tenant is sent in X-Scope-OrgID; "" sends no header. With tenancy
	// on, make one PeerQueryable per tenant: they hold nothing but their
	// options.
	Tenant string
	// Timeout bounds each request to a peer; a peer that does not answer
	// in time counts as down. Default DefaultReadTimeout.
	Timeout time.Duration
	// ReplicationFactor is the number of replicas of every series. Up to
	// ReplicationFactor/2 nodes may be down without a warning: each series
	// still has a replica that answered. Default 3.
	ReplicationFactor int
	// HeartbeatTimeout is the ring's: a LEAVING member whose last
	// heartbeat is older counts as down. Default DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// MaxFrameBytes bounds one frame of a peer's streamed answer.
	// Default DefaultMaxFrameBytes.
	MaxFrameBytes int
	// Logger logs the peers that failed; nil discards.
	Logger *slog.Logger
	// Now is the clock that judges heartbeats; nil means time.Now.
	Now func() time.Time
	// ReadQuorum asks only as many peers as a read quorum needs when every
	// node holds every series (the ring's members, down ones included,
	// are no more than ReplicationFactor, and this node is one of them):
	// R = N - W + 1 nodes of the N members with the write quorum W =
	// ReplicationFactor/2+1, this node included, so that they overlap
	// every write quorum. A peer that fails is replaced by one not asked
	// yet. Off, or with more members, every peer is asked.
	ReadQuorum bool
}

func (o PeerOptions) withDefaults() PeerOptions {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Scheme == "" {
		o.Scheme = "http"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultReadTimeout
	}
	if o.ReplicationFactor <= 0 {
		o.ReplicationFactor = 3
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// PartialResultError is the warning of an answer that misses nodes: more
// than ReplicationFactor/2 of them were down, so some series may lack
// every replica. It wraps model.ErrUnavailable.
type PartialResultError struct {
	Down  []string // IDs of the nodes down, sorted
	Total int      // nodes of the cluster that hold data, this one included
}

// Error implements error.
func (e *PartialResultError) Error() string {
	return fmt.Sprintf("partial result: %d of %d nodes unreachable (%s)", len(e.Down), e.Total, strings.Join(e.Down, ", "))
}

// Unwrap returns model.ErrUnavailable.
func (e *PartialResultError) Unwrap() error { return model.ErrUnavailable }

// PeerQueryable reads the heads of the other nodes of the cluster through
// their internal API. It implements storage.SampleAndChunkQueryable; the
// caller merges it with the local head and blocks (for instance with
// storage.NewMergeQuerier and storage.ChainedSeriesMerge).
//
// A peer that fails is never an error of the query: it counts as down,
// and the answer carries a *PartialResultError warning when more nodes
// are down than the replication factor allows.
type PeerQueryable struct {
	opts PeerOptions
}

var _ storage.SampleAndChunkQueryable = (*PeerQueryable)(nil)

// NewPeerQueryable returns a PeerQueryable; it fails without a Ring.
func NewPeerQueryable(opts PeerOptions) (*PeerQueryable, error) {
	if opts.Ring == nil {
		return nil, errors.New("peer queryable needs a ring")
	}
	return &PeerQueryable{opts: opts.withDefaults()}, nil
}

// Querier returns a querier over [mint, maxt] of the peers' heads.
func (p *PeerQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &peerQuerier{peerLabels{p: p, mint: mint, maxt: maxt}}, nil
}

// ChunkQuerier returns a chunk querier over [mint, maxt] of the peers'
// heads; chunks that overlap between replicas are merged into chunks
// without duplicate samples.
func (p *PeerQueryable) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	return &peerChunkQuerier{peerLabels{p: p, mint: mint, maxt: maxt}}, nil
}

// peers returns the members to ask, the IDs of those already known to be
// down, the number of nodes holding data, Self included, and whether Self
// is one of them.
func (p *PeerQueryable) peers() (ask []ring.Instance, down []string, total int, selfHolds bool) {
	self := p.opts.Ring.Self().ID
	now := p.opts.Now()
	for _, m := range p.opts.Ring.Members() {
		if m.State != "ACTIVE" && m.State != "LEAVING" {
			continue // joining members hold nothing yet, left ones nothing more
		}
		total++
		if m.ID == self {
			selfHolds = true
			continue
		}
		fresh := m.Healthy || (m.State == "LEAVING" && now.Sub(m.LastHeartbeat) <= p.opts.HeartbeatTimeout)
		if !fresh {
			down = append(down, m.ID)
			continue
		}
		ask = append(ask, m.Instance)
	}
	return ask, down, max(total, 1), selfHolds
}

// fanOut calls fn for the peers (one goroutine per peer: the fan-out is
// bounded by the size of the cluster), each under its own timeout, and
// returns the answers of those that succeeded and the warnings: a
// *PartialResultError when too many nodes were down. It asks every peer,
// or with ReadQuorum only the peers a read quorum needs (readQuorum),
// replacing each that fails by another until none is left.
func fanOut[T any](ctx context.Context, p *PeerQueryable, what string, fn func(ctx context.Context, base string) (T, error)) ([]T, annotations.Annotations) {
	ask, down, total, selfHolds := p.peers()
	need := p.readQuorum(total, selfHolds, len(ask))
	if need < len(ask) {
		// Spread the reads over the peers.
		off := rand.IntN(len(ask))
		ask = append(ask[off:len(ask):len(ask)], ask[:off]...)
	}
	var out []T
	for next := 0; len(out) < need && next < len(ask); {
		k := min(need-len(out), len(ask)-next)
		got, failed := askPeers(ctx, p, what, ask[next:next+k], fn)
		out = append(out, got...)
		down = append(down, failed...)
		next += k
	}
	var annos annotations.Annotations
	if len(down) > p.opts.ReplicationFactor/2 {
		slices.Sort(down)
		annos.Add(&PartialResultError{Down: down, Total: total})
	}
	return out, annos
}

// readQuorum returns how many of the fresh peers a read must hear from:
// all of them, unless ReadQuorum is set and every member is a replica of
// every series. Then a sample acknowledged by W = ReplicationFactor/2+1
// of the total members is on one of any total-W+1 of them.
func (p *PeerQueryable) readQuorum(total int, selfHolds bool, fresh int) int {
	if !p.opts.ReadQuorum || !selfHolds || total > p.opts.ReplicationFactor {
		return fresh
	}
	w := min(p.opts.ReplicationFactor/2+1, total)
	return min(fresh, total-w) // total-w+1 nodes, Self being one
}

// askPeers calls fn for every instance of ask at once and returns the
// answers of those that succeeded, in the order of ask, and the IDs of
// those that failed.
func askPeers[T any](ctx context.Context, p *PeerQueryable, what string, ask []ring.Instance, fn func(ctx context.Context, base string) (T, error)) ([]T, []string) {
	got := make([]T, len(ask))
	failed := make([]bool, len(ask))
	var wg sync.WaitGroup
	for i, in := range ask {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
			defer cancel()
			v, err := fn(ctx, p.opts.Scheme+"://"+in.Addr)
			if err != nil {
				p.opts.Logger.Warn("peer failed", slog.String("what", what), slog.String("peer", in.ID), slog.String("addr", in.Addr), slog.Any("err", err))
				failed[i] = true
				return
			}
			got[i] = v
		})
	}
	wg.Wait()
	var out []T
	var down []string
	for i, in := range ask {
		if failed[i] {
			down = append(down, in.ID)
			continue
		}
		out = append(out, got[i])
	}
	return out, down
}

// setTenant sets the tenant header of an internal request.
func (p *PeerQueryable) setTenant(req *http.Request) {
	if p.opts.Tenant != "" {
		req.Header.Set(tenantHeader, p.opts.Tenant)
	}
}

// selectPeers runs one Select on every peer and returns each peer's
// series, sorted, with the warnings.
func (p *PeerQueryable) selectPeers(ctx context.Context, mint, maxt int64, hints *storage.SelectHints, ms []*labels.Matcher) ([][]peerSeries, annotations.Annotations, error) {
	body, err := readRequest(mint, maxt, hints, ms)
	if err != nil {
		return nil, nil, err
	}
	lists, annos := fanOut(ctx, p, "read", func(ctx context.Context, base string) ([]peerSeries, error) {
		return p.remoteRead(ctx, base, body)
	})
	return lists, annos, nil
}

// peerQuerier is the storage.Querier of PeerQueryable.
type peerQuerier struct{ peerLabels }

// Select implements storage.Querier. The peers' series come sorted
// whatever sortSeries says; samples with the same timestamp on several
// peers are returned once.
func (q *peerQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	lists, annos, err := q.p.selectPeers(ctx, q.mint, q.maxt, hints, ms)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	sets := make([]storage.SeriesSet, 0, len(lists)+1)
	for _, l := range lists {
		sets = append(sets, storage.NewSeriesSetFromChunkSeriesSet(newChunkSet(l)))
	}
	sets = append(sets, warningsOnly(annos))
	return storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
}

// peerChunkQuerier is the storage.ChunkQuerier of PeerQueryable.
type peerChunkQuerier struct{ peerLabels }

// Select implements storage.ChunkQuerier, as peerQuerier.Select does.
func (q *peerChunkQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	lists, annos, err := q.p.selectPeers(ctx, q.mint, q.maxt, hints, ms)
	if err != nil {
		return storage.ErrChunkSeriesSet(err)
	}
	sets := make([]storage.ChunkSeriesSet, 0, len(lists)+1)
	for _, l := range lists {
		sets = append(sets, newChunkSet(l))
	}
	sets = append(sets, &chunkSet{i: -1, annos: annos})
	return storage.NewMergeChunkSeriesSet(sets, 0, storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge))
}

// warningsOnly is an empty SeriesSet carrying annos.
func warningsOnly(annos annotations.Annotations) storage.SeriesSet {
	return storage.NewSeriesSetFromChunkSeriesSet(&chunkSet{i: -1, annos: annos})
}
