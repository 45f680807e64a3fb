package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v2"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/replication"
	"github.com/gorilla-remote/gorilla-remote/ring"
)

// leaveFlushTimeout bounds the sealing and upload of the head's windows
// when a node leaves the cluster.
const leaveFlushTimeout = 5 * time.Minute

// cluster is the node's membership of a cluster (docs/cluster.md): its
// ring node and what requests to peers need. A server without
// --cluster.join has none: srv.cluster is nil, and every method of a nil
// *cluster answers as a cluster of one.
//
// Its life, as an actor of the server's run group (add): the node joins
// JOINING before the storage opens (start), turns ACTIVE once the storage
// is open and the WAL replayed (markReady), turns LEAVING when the group
// is interrupted and waits one heartbeat period so that peers send new
// writes elsewhere, and leaves the ring only after the storage has sealed
// and uploaded its windows and closed (storageDone).
type cluster struct {
	node        *ring.Node
	httpc       *http.Client
	sch         string
	replicas    int
	peerTimeout time.Duration
	log         *slog.Logger

	ready     chan struct{} // closed by markReady
	readyOnce sync.Once
	done      chan struct{} // closed by storageDone
	doneOnce  sync.Once
}

// newCluster builds the cluster of s, nil without --cluster.join. web is
// the address the HTTP API listens on; its port is the one the ring
// advertises. dskit's ring_* and memberlist_* metrics go to reg as
// gorilla_ring_* and gorilla_memberlist_*.
func newCluster(s settings, web net.Addr, logger *slog.Logger, reg prometheus.Registerer) (*cluster, error) {
	cs := s.Cluster
	if !cs.enabled() {
		return nil, nil
	}
	name, err := cs.nodeName()
	if err != nil {
		return nil, err
	}
	gossip, api, err := advertiseAddrs(cs, s.ListenAddress, web)
	if err != nil {
		return nil, err
	}
	c := &cluster{replicas: cs.ReplicationFactor, peerTimeout: cs.PeerTimeout, sch: "http",
		log: logger.With("component", "cluster"), ready: make(chan struct{}), done: make(chan struct{})}
	if c.httpc, c.sch, err = peerClient(cs.ClientConfigFile); err != nil {
		return nil, err
	}
	c.node, err = ring.NewNode(ring.Options{
		NodeName:            name,
		ListenAddr:          cs.ListenAddress,
		AdvertiseAddr:       api,
		GossipAdvertiseAddr: gossip,
		Join:                cs.Join,
		Zone:                cs.Zone,
		Tokens:              cs.Tokens,
		HeartbeatTimeout:    cs.HeartbeatTimeout,
		ReplicationFactor:   cs.ReplicationFactor,
		Logger:              c.log,
		Registerer:          prometheus.WrapRegistererWithPrefix("gorilla_", reg),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return c, nil
}

// peerClient builds the client of requests to peers from the Prometheus
// HTTP client configuration at path ("" for a plain client), and the
// scheme peers are dialled with: https when the file has a tls_config.
// Both keep enough idle connections per peer for the pushes and reads of
// concurrent requests (the Prometheus client's transport keeps 1000).
func peerClient(path string) (*http.Client, string, error) {
	if path == "" {
		return replication.NewPeerClient(), "http", nil
	}
	cfg, raw, err := promconfig.LoadHTTPConfigFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("--cluster.client-config-file: %w", err)
	}
	client, err := promconfig.NewClientFromConfig(*cfg, "gorilla-remote-peer")
	if err != nil {
		return nil, "", fmt.Errorf("--cluster.client-config-file %s: %w", path, err)
	}
	var keys map[string]any
	if err := yaml.Unmarshal(raw, &keys); err != nil {
		return nil, "", fmt.Errorf("--cluster.client-config-file %s: %w", path, err)
	}
	if _, ok := keys["tls_config"]; ok {
		return client, "https", nil
	}
	return client, "http", nil
}

// advertiseAddrs returns the gossip address to advertise ("" lets
// memberlist take the one it bound) and the API address the ring
// advertises: the host of --cluster.advertise-address, else of
// --web.listen-address when that is a specific IP, else the machine's
// first non-loopback IPv4, with the port web listens on.
func advertiseAddrs(cs clusterSettings, webListen string, web net.Addr) (gossip, api string, err error) {
	_, gport, _ := net.SplitHostPort(cs.ListenAddress) // checked by validate
	ghost, _, _ := net.SplitHostPort(cs.ListenAddress)
	host, explicit := cs.AdvertiseAddress, cs.AdvertiseAddress != ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		host, gport = h, p
	}
	if !explicit {
		wh, _, _ := net.SplitHostPort(webListen)
		if ip := net.ParseIP(wh); ip != nil && !ip.IsUnspecified() {
			host = wh
		} else if host, err = firstIPv4(); err != nil {
			return "", "", err
		}
	}
	_, wport, err := net.SplitHostPort(web.String())
	if err != nil {
		return "", "", fmt.Errorf("cluster: API address %s: %w", web, err)
	}
	api = net.JoinHostPort(host, wport)
	// Without an address of the user's, a transport bound to one IP
	// advertises that IP; one bound to port 0 only knows its port once
	// bound: memberlist advertises what it bound.
	if ip := net.ParseIP(ghost); gport == "0" || (!explicit && ip != nil && !ip.IsUnspecified()) {
		return "", api, nil
	}
	gip, err := resolveIP(host)
	if err != nil {
		return "", "", fmt.Errorf("--cluster.advertise-address: %w", err)
	}
	return net.JoinHostPort(gip, gport), api, nil
}

// resolveIP returns host if it is an IP, else its first address:
// memberlist advertises an IP.
func resolveIP(host string) (string, error) {
	if net.ParseIP(host) != nil {
		return host, nil
	}
	addrs, err := net.LookupHost(host)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return "", fmt.Errorf("resolve %s: no address", host)
	}
	return addrs[0], nil
}

// firstIPv4 returns the first IPv4 address of the machine's interfaces
// that is not a loopback one.
func firstIPv4() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("cluster: list interface addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("cluster: no non-loopback IPv4 address; set --cluster.advertise-address")
}

// start registers the node JOINING in the ring. The server calls it
// before the storage opens.
func (c *cluster) start(ctx context.Context) error {
	if c == nil {
		return nil
	}
	if err := c.node.Start(ctx); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.log.Info("joined the cluster as JOINING", "node", c.node.Self().ID, "address", c.node.Self().Addr,
		"gossip", c.node.GossipAddr())
	return nil
}

// add adds the node's actor to g, before the HTTP server's, so that its
// interrupt (LEAVING, one heartbeat) runs before the HTTP server stops.
func (c *cluster) add(g *run.Group) {
	if c == nil {
		return
	}
	leaving := make(chan struct{})
	g.Add(func() error {
		select {
		case <-c.ready:
			if err := c.node.SetActive(context.Background()); err != nil {
				c.log.Error("mark the node ACTIVE", "err", err)
			} else {
				c.log.Info("the node is ACTIVE")
			}
		case <-leaving:
		}
		<-leaving
		<-c.done // the storage has flushed and closed
		if err := c.node.Stop(); err != nil {
			return err
		}
		c.log.Info("left the cluster")
		return nil
	}, func(error) {
		c.leave()
		close(leaving)
	})
}

// leave marks the node LEAVING and waits one heartbeat period, so that
// peers see it before the node stops taking requests.
func (c *cluster) leave() {
	select {
	case <-c.ready:
	default:
		return // never ACTIVE: no writes to turn away
	}
	if err := c.node.SetLeaving(context.Background()); err != nil {
		c.log.Warn("mark the node LEAVING", "err", err)
		return
	}
	wait := c.node.HeartbeatPeriod()
	c.log.Info("the node is LEAVING; waiting for peers to see it", "wait", wait)
	time.Sleep(wait)
}

// markReady tells the node its storage is open and ready: it turns ACTIVE.
func (c *cluster) markReady() {
	if c != nil {
		c.readyOnce.Do(func() { close(c.ready) })
	}
}

// storageDone tells the node its storage is closed: it may leave the ring.
func (c *cluster) storageDone() {
	if c != nil {
		c.doneOnce.Do(func() { close(c.done) })
	}
}

// stop leaves the ring of a node whose run group never ran.
func (c *cluster) stop() {
	if c != nil {
		_ = c.node.Stop()
	}
}

// flush seals and uploads every window of st's head, the open ones too,
// when the node leaves the cluster, so that nothing it holds is left only
// in its WAL. A failure is logged: the WAL keeps the data for the next
// start, and the other replicas hold it too.
func (c *cluster) flush(st *stack) {
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveFlushTimeout)
	defer cancel()
	if err := st.blocks.shipper.Flush(ctx); err != nil {
		c.log.Error("seal and upload the head before leaving; the WAL keeps it", "tenant", st.id, "err", err)
		return
	}
	c.log.Info("sealed and uploaded the head before leaving", "tenant", st.id)
}

// name returns this node's name in the ring, "" without cluster mode.
func (c *cluster) name() string {
	if c == nil {
		return ""
	}
	return c.node.Self().ID
}

// blockLabels are the external labels of the blocks this node seals:
// block.NodeLabel naming the node in cluster mode, none without.
func (c *cluster) blockLabels() map[string]string {
	if c == nil {
		return nil
	}
	return map[string]string{block.NodeLabel: c.name()}
}

// ring returns the ring, nil without cluster mode.
func (c *cluster) ring() ring.Ring {
	if c == nil {
		return nil
	}
	return c.node
}

// client returns the client of requests to peers (--cluster.client-config-file).
// Without cluster mode it is nil. Bound each request by timeout.
func (c *cluster) client() *http.Client {
	if c == nil {
		return nil
	}
	return c.httpc
}

// scheme returns the scheme peers are dialled with: https when the
// client configuration has a tls_config, http otherwise.
func (c *cluster) scheme() string {
	if c == nil {
		return "http"
	}
	return c.sch
}

// rf returns the replication factor: 1 without cluster mode.
func (c *cluster) rf() int {
	if c == nil {
		return 1
	}
	return c.replicas
}

// timeout returns the bound of one request to a peer (--cluster.peer-timeout).
func (c *cluster) timeout() time.Duration {
	if c == nil {
		return 0
	}
	return c.peerTimeout
}

// peerURL returns the URL of path on the peer at addr (host:port).
func (c *cluster) peerURL(addr, path string) string {
	return c.scheme() + "://" + addr + path
}
