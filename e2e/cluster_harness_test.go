//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/block"
)

// The cluster tests run every node as a real process of the binary on its
// own loopback address (127.0.0.11, .12, ...; all of 127.0.0.0/8 answers on
// Linux without setup), with the API on a free port and gossip on
// clusterGossipPort of that address, a storage directory per node and one
// FILESYSTEM bucket directory shared by all.
const (
	clusterGossipPort = 7946
	// clusterHeartbeat is the heartbeat timeout of the test clusters: a
	// node that went silent counts as unhealthy after it.
	clusterHeartbeat = 5 * time.Second
	// clusterStartTimeout bounds a node's start and WAL replay.
	clusterStartTimeout = 90 * time.Second
)

// clusterNode is one node of a test cluster. Its addresses and directory
// stay the same across restarts.
type clusterNode struct {
	name   string
	ip     string // the address the API and gossip bind
	port   int    // API port
	dir    string // --storage.path
	wrap   []string
	client *http.Client // how the test reaches the node
	proc   *process     // the running process, or the last one
}

// base is the node's API URL.
func (n *clusterNode) base() string { return "http://" + n.addr() }

// addr is the host:port of the node's API, the address peers dial.
func (n *clusterNode) addr() string { return net.JoinHostPort(n.ip, strconv.Itoa(n.port)) }

// gossip is the host:port of the node's gossip transport.
func (n *clusterNode) gossip() string {
	return net.JoinHostPort(n.ip, strconv.Itoa(clusterGossipPort))
}

// testCluster is a set of nodes started from one binary.
type testCluster struct {
	t      *testing.T
	bin    string
	bucket string // the shared bucket directory
	conf   string // its objstore configuration file
	rf     int
	extra  []string // flags given to every node
	nodes  []*clusterNode
	alone  bool // run without any cluster flag: a cluster of one
}

// newCluster prepares (does not start) nodes on the given addresses, named
// node-1, node-2, ... in order, each with a free API port.
func newCluster(t *testing.T, rf int, ips []string, extra ...string) *testCluster {
	t.Helper()
	bucket := t.TempDir()
	c := &testCluster{
		t: t, bin: buildServer(t), bucket: bucket, rf: rf, extra: extra,
		conf: writeFile(t, "bucket.yml", fmt.Sprintf("type: FILESYSTEM\nconfig:\n  directory: %s\n", bucket)),
	}
	for _, ip := range ips {
		c.addNode(ip)
	}
	return c
}

// addNode prepares one more node on ip; start it with startNode.
func (c *testCluster) addNode(ip string) *clusterNode {
	c.t.Helper()
	n := &clusterNode{
		name: fmt.Sprintf("node-%d", len(c.nodes)+1), ip: ip, port: freePortOn(c.t, ip),
		dir: c.t.TempDir(), client: newHTTPClient(c.t),
	}
	c.nodes = append(c.nodes, n)
	return n
}

// freePortOn returns a TCP port of ip that was free a moment ago.
func freePortOn(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	require.NoError(t, err, "listen on %s (the cluster tests need the loopback addresses 127.0.0.0/8)", ip)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// args are the flags of node n: it joins every other node of the cluster.
func (c *testCluster) args(n *clusterNode) []string {
	args := []string{
		"--web.listen-address=" + n.addr(),
		"--storage.path=" + n.dir,
		"--objstore.config-file=" + c.conf,
		"--block.sync-interval=1s",
		"--block.ship-interval=1s",
		"--head.maintenance-interval=1s",
		"--no-block.rollups",
	}
	if c.alone {
		return append(args, c.extra...)
	}
	args = append(args,
		"--cluster.node-name="+n.name,
		"--cluster.listen-address="+n.gossip(),
		fmt.Sprintf("--cluster.replication-factor=%d", c.rf),
		"--cluster.heartbeat-timeout="+clusterHeartbeat.String(),
		"--cluster.peer-timeout=5s",
	)
	for _, o := range c.nodes {
		if o != n {
			args = append(args, "--cluster.join="+o.gossip())
		}
	}
	return append(args, c.extra...)
}

// command returns the program and arguments that run n.
func (c *testCluster) command(n *clusterNode) (string, []string) {
	if len(n.wrap) == 0 {
		return c.bin, c.args(n)
	}
	return n.wrap[0], append(append(slices.Clone(n.wrap[1:]), c.bin), c.args(n)...)
}

// startNode starts (or restarts) n's process and waits until its API
// answers /-/ready.
func (c *testCluster) startNode(n *clusterNode) {
	c.t.Helper()
	bin, args := c.command(n)
	n.proc = startProcess(c.t, n.name, bin, args...)
	n.proc.waitOK(c.t, n.client, n.base()+"/-/ready", clusterStartTimeout)
}

// start starts every prepared node at once (each keeps trying to join
// the others) and waits until every node sees all of them ACTIVE and
// healthy.
func (c *testCluster) start() {
	c.t.Helper()
	for _, n := range c.nodes {
		bin, args := c.command(n)
		n.proc = startProcess(c.t, n.name, bin, args...)
	}
	for _, n := range c.nodes {
		n.proc.waitOK(c.t, n.client, n.base()+"/-/ready", clusterStartTimeout)
	}
	if !c.alone {
		c.waitMembers(c.nodes, c.nodes)
	}
}

// kill ends n's process with SIGKILL and waits for it.
func (c *testCluster) kill(n *clusterNode) { n.proc.kill() }

// leave ends n's process with SIGTERM (a graceful leave) and requires a
// clean exit.
func (c *testCluster) leave(n *clusterNode) {
	c.t.Helper()
	code, err := n.proc.stop(syscall.SIGTERM, 2*time.Minute)
	require.NoError(c.t, err, "stop %s", n.name)
	require.Zero(c.t, code, "exit code of %s after SIGTERM", n.name)
}

// clusterStatus is GET /api/v1/status/cluster.
type clusterStatus struct {
	Self              string          `json:"self"`
	ReplicationFactor int             `json:"replicationFactor"`
	Members           []clusterMember `json:"members"`
}

// clusterMember is one member of clusterStatus.
type clusterMember struct {
	Name      string  `json:"name"`
	Address   string  `json:"address"`
	State     string  `json:"state"`
	Healthy   bool    `json:"healthy"`
	Ownership float64 `json:"ownership"`
}

// status fetches n's view of the cluster.
func (n *clusterNode) status() (clusterStatus, error) {
	var env struct {
		Status string        `json:"status"`
		Data   clusterStatus `json:"data"`
	}
	resp, err := n.client.Get(n.base() + "/api/v1/status/cluster")
	if err != nil {
		return env.Data, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return env.Data, err
	}
	if resp.StatusCode != http.StatusOK {
		return env.Data, fmt.Errorf("GET /api/v1/status/cluster: %s: %s", resp.Status, body)
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return env.Data, fmt.Errorf("GET /api/v1/status/cluster: %w: %s", err, body)
	}
	return env.Data, nil
}

// describe is a short text of a view for failure messages.
func (s clusterStatus) describe() string {
	var parts []string
	for _, m := range s.Members {
		parts = append(parts, fmt.Sprintf("%s@%s %s healthy=%v own=%.3f", m.Name, m.Address, m.State, m.Healthy, m.Ownership))
	}
	return fmt.Sprintf("self %s rf %d: [%s]", s.Self, s.ReplicationFactor, strings.Join(parts, "; "))
}

// sees reports whether s lists exactly the members want, each ACTIVE and
// healthy at its API address.
func (s clusterStatus) sees(want []*clusterNode) bool {
	if len(s.Members) != len(want) {
		return false
	}
	for _, n := range want {
		found := false
		for _, m := range s.Members {
			if m.Name == n.name {
				found = m.State == "ACTIVE" && m.Healthy && m.Address == n.addr()
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitMembers waits until every node of viewers sees exactly members,
// all ACTIVE and healthy.
func (c *testCluster) waitMembers(viewers, members []*clusterNode) {
	c.t.Helper()
	for _, v := range viewers {
		var last string
		err := poll(2*time.Minute, 200*time.Millisecond, func() bool {
			st, err := v.status()
			if err != nil {
				last = err.Error()
				return false
			}
			last = st.describe()
			return st.sees(members)
		})
		require.NoError(c.t, err, "%s never saw %s all ACTIVE and healthy; last view: %s", v.name, names(members), last)
	}
}

// waitUnhealthy waits until viewer counts every node of gone unhealthy
// (or no longer lists it).
func (c *testCluster) waitUnhealthy(viewer *clusterNode, gone ...*clusterNode) {
	c.t.Helper()
	var last string
	err := poll(10*clusterHeartbeat, 200*time.Millisecond, func() bool {
		st, err := viewer.status()
		if err != nil {
			last = err.Error()
			return false
		}
		last = st.describe()
		for _, m := range st.Members {
			for _, g := range gone {
				if m.Name == g.name && m.Healthy {
					return false
				}
			}
		}
		return true
	})
	require.NoError(c.t, err, "%s still sees one of %s healthy; last view: %s", viewer.name, names(gone), last)
}

// names lists the nodes' names.
func names(nodes []*clusterNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.name
	}
	return out
}

// except returns nodes without the ones in drop.
func except(nodes []*clusterNode, drop ...*clusterNode) []*clusterNode {
	var out []*clusterNode
	for _, n := range nodes {
		keep := true
		for _, d := range drop {
			keep = keep && n != d
		}
		if keep {
			out = append(out, n)
		}
	}
	return out
}

// rawBlocks lists the raw (not rolled-up) blocks anywhere in the bucket
// that have their meta.json.
func (c *testCluster) rawBlocks() []block.Meta {
	c.t.Helper()
	var out []block.Meta
	err := filepath.WalkDir(c.bucket, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != block.MetaFilename {
			return err
		}
		meta, err := block.ReadMeta(filepath.Dir(path))
		if err == nil && meta.Thanos.Downsample.Resolution == 0 {
			out = append(out, meta)
		}
		return nil
	})
	require.NoError(c.t, err, "walk the bucket %s", c.bucket)
	return out
}
