package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/grafana/dskit/dns"
	"github.com/grafana/dskit/flagext"
	"github.com/grafana/dskit/kv/codec"
	"github.com/grafana/dskit/kv/memberlist"
	dskitring "github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	// ringName names the ring in dskit's metrics; ringKey is the key of the
	// ring descriptor in the memberlist KV store.
	ringName = "gorilla-remote"
	ringKey  = "ring"

	defaultTokens            = 128
	defaultHeartbeatTimeout  = time.Minute
	defaultReplicationFactor = 3

	// leaveTimeout bounds each of the two waits of a stopping node's
	// gossip: its last updates going out, and its leave message.
	leaveTimeout = 3 * time.Second
)

// Options configure a Node. NodeName and ListenAddr are required.
type Options struct {
	// NodeName is the unique name of this node in the cluster and its
	// instance ID in the ring.
	NodeName string
	// ListenAddr is the host:port the gossip (memberlist) transport binds,
	// TCP and UDP. Port 0 picks a free port; GossipAddr reports it.
	ListenAddr string
	// AdvertiseAddr is the host:port other nodes use to reach this node's
	// API, stored in the ring as Instance.Addr. Empty means GossipAddr.
	AdvertiseAddr string
	// GossipAdvertiseAddr is the host:port other nodes use to gossip with
	// this one, when it differs from what the transport bound (a wildcard
	// ListenAddr, NAT). Empty lets memberlist pick: the bound IP, or the
	// first private IP of the machine for a wildcard.
	GossipAdvertiseAddr string
	// Join lists host:port gossip addresses of existing members. Empty
	// makes a cluster of one that others may join.
	Join []string
	// Zone is this node's availability zone. Set it on every node or on
	// none: with zones, replicas are spread one per zone.
	Zone string
	// Tokens is the number of tokens this node owns; 0 means 128.
	Tokens int
	// HeartbeatTimeout is how long a node may stay silent before it counts
	// as unhealthy; 0 means 1m. Heartbeats are sent every fifth of it, at
	// least every second; keep it at 3s or more.
	HeartbeatTimeout time.Duration
	// ReplicationFactor is the largest rf Owners accepts and its default;
	// 0 means 3.
	ReplicationFactor int
	// Logger receives dskit's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives dskit's ring and memberlist metrics; nil means
	// none are exposed.
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() error {
	if o.NodeName == "" {
		return errors.New("ring: NodeName is required")
	}
	if o.ListenAddr == "" {
		return errors.New("ring: ListenAddr is required")
	}
	if o.Tokens <= 0 {
		o.Tokens = defaultTokens
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if o.ReplicationFactor <= 0 {
		o.ReplicationFactor = defaultReplicationFactor
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		// dskit registers unconditionally; a private registry keeps
		// several nodes of one process (tests) from colliding.
		o.Registerer = prometheus.NewRegistry()
	}
	return nil
}

// Node is this process's member of the cluster: a memberlist KV client, a
// lifecycler that registers it with its tokens and heartbeats (JOINING,
// then ACTIVE and LEAVING: state.go), and a ring that watches the others.
// It implements Ring once started.
type Node struct {
	opts Options

	mu      sync.Mutex // guards the fields below and Start/Stop
	kv      *memberlist.KV
	client  *memberlist.Client
	lc      *dskitring.BasicLifecycler
	ring    *dskitring.Ring
	started bool
	stopped bool
}

var _ Ring = (*Node)(nil)

// NewNode checks opts and returns a Node that is not yet started.
func NewNode(opts Options) (*Node, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(opts.ListenAddr); err != nil {
		return nil, fmt.Errorf("ring: listen address %q: %w", opts.ListenAddr, err)
	}
	if a := opts.GossipAdvertiseAddr; a != "" {
		if _, err := splitPort(a); err != nil {
			return nil, fmt.Errorf("ring: gossip advertise address %q: %w", a, err)
		}
	}
	return &Node{opts: opts}, nil
}

// Run starts the node, waits for ctx to be done and stops it; it suits a
// run group. It returns the start error, or nil after a clean stop.
func (n *Node) Run(ctx context.Context) error {
	if err := n.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return n.Stop()
}

// Start binds the gossip transport, joins the members in Options.Join
// (failing to reach them is logged and retried by memberlist, not an
// error), registers this node JOINING with its tokens and starts watching
// the ring. The node takes writes only once SetActive has marked it
// ACTIVE. A Node starts once.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return errors.New("ring: node already started")
	}
	n.started = true
	logger := slogKit{n.opts.Logger}

	kv, err := n.startKV(ctx, logger)
	if err != nil {
		return err
	}
	n.kv = kv
	if err := n.startRing(ctx, logger); err != nil {
		n.stopLocked()
		return err
	}
	return nil
}

func (n *Node) startKV(ctx context.Context, logger slogKit) (*memberlist.KV, error) {
	host, port, _ := net.SplitHostPort(n.opts.ListenAddr)
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("ring: listen port %q: %w", port, err)
	}
	var cfg memberlist.KVConfig
	flagext.DefaultValues(&cfg)
	cfg.NodeName = n.opts.NodeName
	cfg.RandomizeNodeName = false
	cfg.TCPTransport.BindAddrs = []string{host}
	cfg.TCPTransport.BindPort = p
	cfg.JoinMembers = n.opts.Join
	if a := n.opts.GossipAdvertiseAddr; a != "" {
		host, _, _ := net.SplitHostPort(a)
		cfg.AdvertiseAddr = host
		cfg.AdvertisePort, _ = splitPort(a) // checked by NewNode
	}
	cfg.Codecs = []codec.Codec{dskitring.GetCodec()}
	// Keep LEFT tombstones as long as an instance takes to count as
	// unhealthy, so a departed node disappears promptly.
	cfg.LeftIngestersTimeout = max(n.opts.HeartbeatTimeout, time.Second)
	// A node that stops gossips its departure for a few seconds at most:
	// when its peers stop at the same time nobody is left to tell, and
	// dskit's defaults (10s, then 20s) would hold the shutdown for 30s.
	cfg.BroadcastTimeoutForLocalUpdatesOnShutdown = leaveTimeout
	cfg.LeaveTimeout = leaveTimeout
	reg := n.opts.Registerer
	dnsProvider := dns.NewProvider(dns.GolangResolverType, 0, logger, reg)
	kv := memberlist.NewKV(cfg, logger, dnsProvider, reg)
	if err := startService(ctx, kv); err != nil {
		return nil, fmt.Errorf("ring: start memberlist on %s: %w", n.opts.ListenAddr, err)
	}
	return kv, nil
}

func (n *Node) startRing(ctx context.Context, logger slogKit) error {
	client, err := memberlist.NewClient(n.kv, dskitring.GetCodec())
	if err != nil {
		return fmt.Errorf("ring: memberlist client: %w", err)
	}
	n.client = client
	addr := n.opts.AdvertiseAddr
	if addr == "" {
		addr = n.gossipAddrLocked()
	}
	reg := n.opts.Registerer
	lcCfg := dskitring.BasicLifecyclerConfig{
		ID:               n.opts.NodeName,
		Addr:             addr,
		Zone:             n.opts.Zone,
		HeartbeatPeriod:  heartbeatPeriod(n.opts.HeartbeatTimeout),
		HeartbeatTimeout: n.opts.HeartbeatTimeout,
		NumTokens:        n.opts.Tokens,
	}
	var delegate dskitring.BasicLifecyclerDelegate = dskitring.NewInstanceRegisterDelegate(dskitring.JOINING, n.opts.Tokens)
	delegate = dskitring.NewLeaveOnStoppingDelegate(delegate, logger)
	// A node that crashed never unregisters: forget it after ten timeouts
	// (unless this node itself just woke from a pause, see wakeForget).
	delegate = newWakeForget(delegate, 10*n.opts.HeartbeatTimeout, n.opts.HeartbeatTimeout, logger)
	lc, err := dskitring.NewBasicLifecycler(lcCfg, ringName, ringKey, client, delegate, logger, reg)
	if err != nil {
		return fmt.Errorf("ring: lifecycler: %w", err)
	}
	ringCfg := dskitring.Config{
		HeartbeatTimeout:     n.opts.HeartbeatTimeout,
		ReplicationFactor:    n.opts.ReplicationFactor,
		ZoneAwarenessEnabled: n.opts.Zone != "",
	}
	r, err := dskitring.NewWithStoreClientAndStrategy(ringCfg, ringName, ringKey, client,
		dskitring.NewDefaultReplicationStrategy(), reg, logger)
	if err != nil {
		return fmt.Errorf("ring: ring: %w", err)
	}
	if err := startService(ctx, lc); err != nil {
		return fmt.Errorf("ring: register %s: %w", n.opts.NodeName, err)
	}
	n.lc = lc
	if err := startService(ctx, r); err != nil {
		return fmt.Errorf("ring: watch ring: %w", err)
	}
	n.ring = r
	return nil
}

// Stop marks this node LEAVING, unregisters it from the ring, leaves the
// gossip cluster and closes the transport. It is safe to call more than
// once and on a node whose Start failed.
func (n *Node) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopLocked()
}

func (n *Node) stopLocked() error {
	if n.stopped {
		return nil
	}
	n.stopped = true
	var errs []error
	// Reverse order of start: the lifecycler must unregister while the
	// KV can still gossip the change.
	var svcs []services.Service
	if n.ring != nil {
		svcs = append(svcs, n.ring)
	}
	if n.lc != nil {
		svcs = append(svcs, n.lc)
	}
	if n.kv != nil {
		svcs = append(svcs, n.kv)
	}
	for _, s := range svcs {
		if err := services.StopAndAwaitTerminated(context.Background(), s); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ring: stop %s: %w", n.opts.NodeName, err)
	}
	return nil
}

// GossipAddr returns the host:port the gossip transport listens on, with
// the port it actually bound when Options.ListenAddr asked for 0. Other
// nodes list it in their Options.Join.
func (n *Node) GossipAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gossipAddrLocked()
}

func (n *Node) gossipAddrLocked() string {
	host, port, _ := net.SplitHostPort(n.opts.ListenAddr)
	if n.kv != nil {
		port = strconv.Itoa(n.kv.GetListeningPort())
	}
	return net.JoinHostPort(host, port)
}

// splitPort returns the port of the host:port a.
func splitPort(a string) (int, error) {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number in [0, 65535]", port)
	}
	return p, nil
}

// startService starts s and waits until it runs or ctx is done. The
// service itself runs until stopped: dskit ties a service's lifetime to
// the context it is started with, and Start's ctx only bounds the start.
func startService(ctx context.Context, s services.Service) error {
	if err := s.StartAsync(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := s.AwaitRunning(ctx); err != nil {
		s.StopAsync()
		return err
	}
	return nil
}

// heartbeatPeriod is a fifth of the timeout, at least a second: the ring
// keeps heartbeats in seconds, and memberlist only accepts an update whose
// timestamp moved, so a faster heartbeat keeps a state change (LEAVING on
// stop) landing on the same second and failing until its retries run out.
func heartbeatPeriod(timeout time.Duration) time.Duration {
	return max(timeout/5, time.Second)
}
