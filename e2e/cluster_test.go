//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clusterIPs are the loopback addresses of the nodes; the fourth is the
// one that joins later.
var clusterIPs = []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"}

// recentPlan is a load of series×rounds samples one second apart, ending
// a minute ago, sent by senders in requests of perReq series, one round
// every pace.
func recentPlan(run string, series, rounds, perReq, senders int, pace time.Duration) loadPlan {
	step := time.Second.Milliseconds()
	return loadPlan{
		run: run, series: series, rounds: rounds, perReq: perReq, senders: senders, pace: pace,
		t0: time.Now().Add(-time.Minute).UnixMilli() - int64(rounds)*step, step: step,
	}
}

// requireAllAcked fails unless every request of the load got a 2xx.
func requireAllAcked(t *testing.T, g *loadGen, what string) {
	t.Helper()
	for _, r := range g.snapshot() {
		if r.code/100 != 2 {
			t.Fatalf("%s: request of round %d to %s at %s: got %d %q, want 2xx", what, r.round, r.node, r.start.Format(time.StampMilli), r.code, r.msg)
		}
	}
	require.Equal(t, g.total(), int64(len(g.snapshot())), "%s: requests sent", what)
}

// TestClusterOfOne runs one node without any cluster flag: it opens no
// gossip port, its status shows a cluster of one, and it stores and
// answers a load as the single node always did.
func TestClusterOfOne(t *testing.T) {
	c := newCluster(t, 1, clusterIPs[:1])
	c.alone = true
	c.start()
	n := c.nodes[0]
	g := newLoad(recentPlan("alone", 500, 200, 250, 2, 0), n)
	g.run()
	g.report(t, "load through the single node")
	requireAllAcked(t, g, "a cluster of one")
	requireLoad(t, g, c.nodes)
	conn, err := net.DialTimeout("tcp", n.gossip(), time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("a node without --cluster.join listens on the gossip address %s", n.gossip())
	}
	st, err := n.status()
	require.NoError(t, err)
	require.Equal(t, 1, st.ReplicationFactor, "replication factor of a cluster of one: %s", st.describe())
	require.Len(t, st.Members, 1, "members of a cluster of one: %s", st.describe())
	m := st.Members[0]
	require.Equal(t, st.Self, m.Name, "the one member is the node itself: %s", st.describe())
	require.True(t, m.State == "ACTIVE" && m.Healthy, "the one member is ACTIVE and healthy: %s", st.describe())
	require.InDelta(t, 1, m.Ownership, 1e-9, "the one member owns the whole ring: %s", st.describe())

}

// TestClusterKillOneNode kills one of three nodes with SIGKILL at about
// 30% of the load: every write still reaches a quorum, queries through
// the other nodes never fail, the node restarts, replays its WAL and is
// ACTIVE again, and every acknowledged sample reads back through every
// node.
func TestClusterKillOneNode(t *testing.T) {
	c := newCluster(t, 3, clusterIPs[:3])
	c.start()
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	g := newLoad(recentPlan("kill-one", 600, 300, 300, 2, 100*time.Millisecond), n1)
	pr := startProber(fmt.Sprintf("count(%s{run=%q})", loadMetric, g.plan.run), n1, n2)
	g.start()
	g.waitProgress(0.3)
	c.kill(n3)
	t.Logf("killed %s at %d of %d requests", n3.name, g.done.Load(), g.total())
	g.waitProgress(0.6)
	c.startNode(n3)
	c.waitMembers(c.nodes, c.nodes)
	t.Logf("%s ACTIVE again at %d of %d requests", n3.name, g.done.Load(), g.total())
	g.wait()
	pr.stopAndRequire(t)
	g.report(t, "load through node-1")
	requireAllAcked(t, g, "one node of three down")
	requireLoad(t, g, c.nodes)
}

// TestClusterKillTwoNodes kills two of three nodes at about 30% of the
// load: no write that started after both died and ended before they came
// back is acknowledged; after the restart writes succeed again and every
// sample acknowledged before is there.
func TestClusterKillTwoNodes(t *testing.T) {
	c := newCluster(t, 3, clusterIPs[:3])
	c.start()
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	g := newLoad(recentPlan("kill-two", 600, 300, 300, 2, 100*time.Millisecond), n1)
	g.start()
	g.waitProgress(0.3)
	c.kill(n2)
	c.kill(n3)
	killed := time.Now()
	time.Sleep(3 * time.Second) // the load runs on against the lone node
	restarting := time.Now()
	c.startNode(n2)
	c.startNode(n3)
	c.waitMembers(c.nodes, c.nodes)
	recovered := time.Now()
	g.wait()
	g.report(t, "load through node-1")

	var during, after int
	for _, r := range g.snapshot() {
		switch {
		case r.start.After(killed) && r.end.Before(restarting):
			during++
			require.NotEqual(t, 2, r.code/100, "request of round %d at %s, while two of three nodes were down: %d %q",
				r.round, r.start.Format(time.StampMilli), r.code, r.msg)
		case r.start.After(recovered):
			after++
			require.Equal(t, 2, r.code/100, "request of round %d at %s, after both nodes were back: %d %q",
				r.round, r.start.Format(time.StampMilli), r.code, r.msg)
		}
	}
	t.Logf("%d requests while two nodes were down, %d after they were back", during, after)
	require.Positive(t, during, "requests sent while two nodes were down")
	require.Positive(t, after, "requests sent after the nodes were back")
	requireLoad(t, g, c.nodes)
}

// TestClusterStoppedNode freezes one of three nodes with SIGSTOP for 60
// seconds under load: every write, through either of the other two, is
// still acknowledged within the senders' 30-second timeout, and nothing
// is lost.
func TestClusterStoppedNode(t *testing.T) {
	c := newCluster(t, 3, clusterIPs[:3])
	c.start()
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	g := newLoad(recentPlan("stopped", 400, 400, 200, 2, 200*time.Millisecond), n1, n2)
	g.start()
	g.waitProgress(0.1)
	pid := n3.proc.cmd.Process.Pid
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	stopped := true
	t.Cleanup(func() {
		if stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	t.Logf("stopped %s at %d of %d requests", n3.name, g.done.Load(), g.total())
	time.Sleep(60 * time.Second)
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	stopped = false
	t.Logf("continued %s at %d of %d requests", n3.name, g.done.Load(), g.total())
	c.waitMembers(c.nodes, c.nodes)
	g.wait()
	g.report(t, "load through node-1 and node-2")
	// The client's timeout is the senders' 30 s: a slower answer fails.
	requireAllAcked(t, g, "one node of three frozen")
	requireLoad(t, g, c.nodes)
}

// TestClusterJoinLeave adds a fourth node under load, which ends with
// about a quarter of the token space, then stops one of the first three
// with SIGTERM (a graceful leave) under load; every acknowledged sample
// reads back through every remaining node.
func TestClusterJoinLeave(t *testing.T) {
	c := newCluster(t, 3, clusterIPs[:3])
	c.start()
	n1, n2 := c.nodes[0], c.nodes[1]
	g := newLoad(recentPlan("join-leave", 600, 400, 300, 2, 100*time.Millisecond), n1)
	g.start()
	g.waitProgress(0.2)
	n4 := c.addNode(clusterIPs[3])
	c.startNode(n4)
	c.waitMembers(c.nodes, c.nodes)
	t.Logf("%s joined at %d of %d requests", n4.name, g.done.Load(), g.total())
	st, err := n1.status()
	require.NoError(t, err)
	for _, m := range st.Members {
		t.Logf("ownership of %s: %.3f", m.Name, m.Ownership)
		if m.Name == n4.name {
			// 128 random tokens each: a share within a few percent of 1/4.
			require.InDelta(t, 0.25, m.Ownership, 0.1, "ownership of the joined node; view %s", st.describe())
		}
	}

	g.waitProgress(0.6)
	c.leave(n2)
	rest := except(c.nodes, n2)
	c.waitMembers(rest, rest)
	t.Logf("%s left at %d of %d requests", n2.name, g.done.Load(), g.total())
	g.wait()
	g.report(t, "load through node-1")
	requireLoad(t, g, rest)
}
