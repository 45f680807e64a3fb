package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	promconfig "github.com/prometheus/common/config"
)

// clusterSettings are the --cluster.* settings (docs/cluster.md). Cluster
// mode is on iff Join is not empty; without it none of them is used.
type clusterSettings struct {
	NodeName          string // "" means the hostname
	ListenAddress     string // gossip, TCP and UDP
	AdvertiseAddress  string // host or host:port peers gossip with; "" picks one
	Join              []string
	ReplicationFactor int
	Zone              string
	Tokens            int
	HeartbeatTimeout  time.Duration
	PeerTimeout       time.Duration
	ClientConfigFile  string // Prometheus HTTP client config for requests to peers
}

// enabled reports whether the node runs in cluster mode.
func (c clusterSettings) enabled() bool { return len(c.Join) > 0 }

// minHeartbeatTimeout is the shortest --cluster.heartbeat-timeout: the ring
// heartbeats every fifth of it but at least every second.
const minHeartbeatTimeout = 3 * time.Second

// registerCluster binds the --cluster.* flags.
func (f *flagSet) registerCluster(flag func(name, help string) *kingpin.FlagClause) {
	c := &f.s.Cluster
	flag("cluster.join", "host:port of a member's gossip address (--cluster.listen-address) to join; repeat it for several. Given, the node runs in cluster mode (docs/cluster.md); without it the node is a cluster of one and opens no gossip port.").
		SetValue(&listValue{&c.Join})
	flag("cluster.node-name", "This node's unique name in the cluster. Empty: the hostname.").
		StringVar(&c.NodeName)
	flag("cluster.listen-address", "Address the gossip transport binds, TCP and UDP.").
		Default(":7946").StringVar(&c.ListenAddress)
	flag("cluster.advertise-address", "Host or host:port other nodes use to gossip with this one; the ring advertises this host with the port of --web.listen-address as the node's API. Empty: the host of --web.listen-address when it is an IP, else the first non-loopback IPv4 of the machine.").
		StringVar(&c.AdvertiseAddress)
	flag("cluster.replication-factor", "How many nodes hold each series; a write succeeds once a quorum (RF/2+1) has it in its WAL.").
		Default("3").IntVar(&c.ReplicationFactor)
	flag("cluster.zone", "This node's availability zone; set on every node or on none. With zones, the replicas of a series are spread one per zone.").
		StringVar(&c.Zone)
	flag("cluster.tokens", "Number of tokens this node owns in the ring.").
		Default("128").IntVar(&c.Tokens)
	flag("cluster.heartbeat-timeout", "How long a node may stay silent before it counts as unhealthy; it heartbeats every fifth of it. At least 3s.").
		Default("1m").SetValue(durationValue{&c.HeartbeatTimeout})
	flag("cluster.peer-timeout", "Longest one request to a peer (a replica's write, a read of its head) may take.").
		Default("5s").SetValue(durationValue{&c.PeerTimeout})
	flag("cluster.client-config-file", "Prometheus HTTP client configuration (basic_auth, authorization, tls_config...) for requests to peers; with tls_config they are made over https. Empty: plain http without auth.").
		StringVar(&c.ClientConfigFile)
}

// validateCluster refuses the cluster settings the node cannot run with.
// They are checked whether or not cluster mode is on, so that a mistake
// shows before the day --cluster.join is added.
func (f *flagSet) validateCluster() []error {
	c := &f.s.Cluster
	var errs []error
	check := func(name string, ok bool, value any, rule string) {
		if !ok {
			errs = append(errs, f.invalid(name, value, rule))
		}
	}
	check("cluster.replication-factor", c.ReplicationFactor >= 1, c.ReplicationFactor, "must be at least 1")
	check("cluster.tokens", c.Tokens >= 1, c.Tokens, "must be at least 1")
	check("cluster.heartbeat-timeout", c.HeartbeatTimeout >= minHeartbeatTimeout, c.HeartbeatTimeout, "must be at least 3s")
	check("cluster.peer-timeout", c.PeerTimeout > 0, c.PeerTimeout, "must be positive")
	_, _, err := net.SplitHostPort(c.ListenAddress)
	check("cluster.listen-address", err == nil, c.ListenAddress, "must be host:port")
	for _, j := range c.Join {
		_, _, err := net.SplitHostPort(j)
		check("cluster.join", err == nil && j != "", j, "must be host:port")
	}
	if a := c.AdvertiseAddress; a != "" {
		check("cluster.advertise-address", !strings.Contains(a, "/"), a, "must be a host or host:port")
	}
	if p := c.ClientConfigFile; p != "" {
		if _, err := loadPeerClientConfig(p); err != nil {
			errs = append(errs, f.invalid("cluster.client-config-file", p, err.Error()))
		}
	}
	return errs
}

// loadPeerClientConfig reads and checks the client configuration of
// requests to peers.
func loadPeerClientConfig(path string) (*promconfig.HTTPClientConfig, error) {
	cfg, _, err := promconfig.LoadHTTPConfigFile(path)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// nodeName is --cluster.node-name, or the hostname when it is empty.
func (c clusterSettings) nodeName() (string, error) {
	if c.NodeName != "" {
		return c.NodeName, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("--cluster.node-name is empty and the hostname is unknown: %w", err)
	}
	return h, nil
}

// listValue is a repeatable flag value holding a list of strings. Each
// Set appends its comma-separated items, so that the config file can give
// the list as a YAML sequence or one comma-separated value.
type listValue struct{ l *[]string }

// Set appends the comma-separated items of s.
func (v *listValue) Set(s string) error {
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*v.l = append(*v.l, item)
		}
	}
	return nil
}

func (v *listValue) String() string { return strings.Join(*v.l, ",") }

// IsCumulative tells kingpin the flag may be repeated.
func (v *listValue) IsCumulative() bool { return true }
