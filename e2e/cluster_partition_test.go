//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The partition test's network: node-1 and node-2 on addresses of the
// host's loopback device, node-3 alone in a network namespace joined to
// the host by a veth pair. Taking the host end down cuts node-3 off; a
// blackhole route then drops what the host sends its way. The test itself
// reaches node-3 from inside the namespace, so it can still write to the
// isolated node.
const (
	partNetns    = "gr-e2e-part"
	partHostVeth = "gre2e0"
	partNsVeth   = "gre2e1"
	partHostIP   = "10.77.9.1"
	partNodeIP   = "10.77.9.2"
	partNsNet    = "10.77.9.0/24"
	partHostNet  = "10.77.8.0/24"
	partNsPort   = 9090
)

var partMajorityIPs = []string{"10.77.8.11", "10.77.8.12"}

// ipCmd runs ip with args and returns its error with its output.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupPartitionNet builds the network and removes it when the test ends.
// It skips (fails in CI) when network namespaces are unavailable.
func setupPartitionNet(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		requireOrSkip(t, "the partition test needs the ip command (iproute2): %v", err)
	}
	cleanup := func() {
		_ = ipCmd("link", "del", partHostVeth)
		_ = ipCmd("netns", "del", partNetns)
		_ = ipCmd("route", "del", "blackhole", partNsNet)
		for _, ip := range partMajorityIPs {
			_ = ipCmd("addr", "del", ip+"/32", "dev", "lo")
		}
	}
	cleanup() // what an interrupted run left
	if err := ipCmd("netns", "add", partNetns); err != nil {
		requireOrSkip(t, "the partition test needs network namespaces (root, ip netns): %v", err)
	}
	t.Cleanup(cleanup)
	ns := func(args ...string) []string { return append([]string{"netns", "exec", partNetns, "ip"}, args...) }
	steps := [][]string{
		{"link", "add", partHostVeth, "type", "veth", "peer", "name", partNsVeth},
		{"link", "set", partNsVeth, "netns", partNetns},
		{"addr", "add", partHostIP + "/24", "dev", partHostVeth},
		{"link", "set", partHostVeth, "up"},
		{"route", "add", "blackhole", partNsNet, "metric", "4000"},
		ns("addr", "add", partNodeIP+"/24", "dev", partNsVeth),
		ns("link", "set", partNsVeth, "up"),
		ns("link", "set", "lo", "up"),
		ns("route", "add", partHostNet, "via", partHostIP),
	}
	for _, ip := range partMajorityIPs {
		steps = append(steps, []string{"addr", "add", ip + "/32", "dev", "lo"})
	}
	for _, s := range steps {
		require.NoError(t, ipCmd(s...))
	}
}

// netnsClient returns an HTTP client whose connections are made from
// inside the network namespace name.
func netnsClient(t *testing.T, name string) *http.Client {
	c := newHTTPClient(t)
	tr := c.Transport.(*http.Transport)
	tr.DialContext = netnsDialer("/var/run/netns/" + name)
	return c
}

// netnsDialer dials from a thread that entered the network namespace at
// path: a socket belongs to the namespace of the thread that created it.
// The thread stays locked and ends with its goroutine, so nothing else
// ever runs in the namespace.
func netnsDialer(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			f, err := os.Open(path)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, fmt.Errorf("setns %s: %w", path, err)}
				return
			}
			var d net.Dialer
			conn, err := d.DialContext(ctx, network, addr)
			ch <- result{conn, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// TestClusterPartition cuts one node of three off the network under
// load on both sides: the isolated node acknowledges no write while cut
// off, the two others acknowledge every write, and after the network
// heals every acknowledged sample of both sides reads back through every
// node.
func TestClusterPartition(t *testing.T) {
	setupPartitionNet(t)
	c := newCluster(t, 3, partMajorityIPs)
	n3 := &clusterNode{
		name: "node-3", ip: partNodeIP, port: partNsPort, dir: t.TempDir(),
		wrap: []string{"ip", "netns", "exec", partNetns}, client: netnsClient(t, partNetns),
	}
	c.nodes = append(c.nodes, n3)
	c.start()
	n1 := c.nodes[0]

	major := newLoad(recentPlan("partition-majority", 400, 400, 200, 2, 100*time.Millisecond), n1)
	minor := newLoad(recentPlan("partition-minority", 100, 400, 100, 1, 100*time.Millisecond), n3)
	major.start()
	minor.start()
	major.waitProgress(0.25)
	require.NoError(t, ipCmd("link", "set", partHostVeth, "down"))
	down := time.Now()
	t.Logf("cut %s off at %d of %d requests", n3.name, major.done.Load(), major.total())
	c.waitUnhealthy(c.nodes[0], n3)
	c.waitUnhealthy(c.nodes[1], n3)
	c.waitUnhealthy(n3, c.nodes[0], c.nodes[1])
	t.Logf("both sides see the other unhealthy %v after the cut", time.Since(down).Round(time.Millisecond))
	time.Sleep(clusterHeartbeat) // writes go on against the settled views
	up := time.Now()
	require.NoError(t, ipCmd("link", "set", partHostVeth, "up"))
	c.waitMembers(c.nodes, c.nodes)
	healed := time.Now()
	t.Logf("healed at %d of %d requests; all ACTIVE and healthy %v later", major.done.Load(), major.total(), healed.Sub(up).Round(time.Millisecond))
	major.wait()
	minor.wait()
	major.report(t, "majority load through node-1")
	minor.report(t, "minority load through the isolated node-3")

	requireAllAcked(t, major, "the majority side")
	var cut int
	for _, r := range minor.snapshot() {
		if r.start.After(down) && r.end.Before(up) {
			cut++
			require.NotEqual(t, 2, r.code/100, "request to the isolated node at %s: %d %q", r.start.Format(time.StampMilli), r.code, r.msg)
		}
	}
	t.Logf("%d requests to the isolated node while it was cut off, none acknowledged", cut)
	require.Positive(t, cut, "requests to the isolated node while it was cut off")
	requireLoad(t, major, c.nodes)
	requireLoad(t, minor, c.nodes)
}
