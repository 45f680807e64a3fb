package ring

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
)

const (
	testHeartbeatTimeout = 4 * time.Second
	testWait             = 30 * time.Second
)

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("RING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startNode starts a node on a free port of 127.0.0.1 that joins join.
func startNode(t testing.TB, name string, join ...string) *Node {
	t.Helper()
	return startNodeWith(t, Options{NodeName: name, ListenAddr: "127.0.0.1:0", Join: join})
}

// startNodeWith starts a node of opts with the tests' heartbeat timeout and
// replication factor, and marks it ACTIVE.
func startNodeWith(t testing.TB, opts Options) *Node {
	t.Helper()
	name := opts.NodeName
	opts.HeartbeatTimeout = testHeartbeatTimeout
	opts.ReplicationFactor = 3
	opts.Logger = testLogger(t)
	opts.Registerer = prometheus.NewPedanticRegistry()
	n, err := NewNode(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	if got := n.State(); got != "JOINING" {
		t.Fatalf("%s: state after Start = %q, want JOINING", name, got)
	}
	if err := n.SetActive(ctx); err != nil {
		t.Fatalf("%s: SetActive: %v", name, err)
	}
	if got := n.State(); got != "ACTIVE" {
		t.Fatalf("%s: state after SetActive = %q, want ACTIVE", name, got)
	}
	return n
}

// eventually polls cond until it returns "" or the deadline passes, then
// fails with the last reason.
func eventually(t testing.TB, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after %v", what, why, testWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ids(in []Instance) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.ID
	}
	return out
}

// converged reports why n does not yet see exactly want, all healthy and
// ACTIVE with 128 tokens, or "".
func converged(n *Node, want []string) string {
	ms := n.Members()
	var got []string
	share := 0.0
	for _, m := range ms {
		got = append(got, m.ID)
		if m.State != "ACTIVE" || !m.Healthy || m.Tokens != defaultTokens || m.LastHeartbeat.IsZero() {
			return fmt.Sprintf("%s sees %+v", n.Self().ID, m)
		}
		share += m.Ownership
	}
	if !slices.Equal(got, want) {
		return fmt.Sprintf("%s sees members %v", n.Self().ID, got)
	}
	if h := ids(n.Healthy()); !slices.Equal(h, want) {
		return fmt.Sprintf("%s sees healthy %v", n.Self().ID, h)
	}
	if share < 0.999999 || share > 1.000001 {
		return fmt.Sprintf("%s: ownership sums to %v", n.Self().ID, share)
	}
	return ""
}

func TestThreeNodes(t *testing.T) {
	a := startNode(t, "node-a")
	b := startNode(t, "node-b", a.GossipAddr())
	c := startNode(t, "node-c", a.GossipAddr())
	nodes := []*Node{a, b, c}
	all := []string{"node-a", "node-b", "node-c"}

	for _, n := range nodes {
		eventually(t, "converge", func() string { return converged(n, all) })
		if self := n.Self(); self.Addr != n.GossipAddr() {
			t.Fatalf("%s: Self().Addr = %q, want the gossip address %q", self.ID, self.Addr, n.GossipAddr())
		}
	}

	for i := range 20 {
		tok := Token("tenant", labels.FromStrings("__name__", "up", "i", fmt.Sprint(i)))
		var first []string
		for _, n := range nodes {
			owners, err := n.Owners(tok, 3)
			if err != nil {
				t.Fatalf("%s: Owners(%d): %v", n.Self().ID, tok, err)
			}
			got := ids(owners)
			if sorted := slices.Sorted(slices.Values(got)); !slices.Equal(sorted, all) {
				t.Fatalf("%s: Owners(%d) = %v, want 3 distinct of %v", n.Self().ID, tok, got, all)
			}
			if first == nil {
				first = got
			} else if !slices.Equal(got, first) {
				t.Fatalf("%s: Owners(%d) = %v, node-a said %v", n.Self().ID, tok, got, first)
			}
		}
		one, err := a.Owners(tok, 1)
		if err != nil || len(one) != 1 || one[0].ID != first[0] {
			t.Fatalf("Owners(%d, 1) = %v, %v; want [%s]", tok, ids(one), err, first[0])
		}
	}
	if _, err := a.Owners(1, 4); err == nil {
		t.Fatalf("Owners with rf above the configured factor did not fail")
	}

	rest := []string{"node-a", "node-b"}
	if err := c.SetLeaving(context.Background()); err != nil {
		t.Fatalf("node-c: SetLeaving: %v", err)
	}
	// A LEAVING node is no longer healthy for writes: the owners of its
	// tokens extend past it to the other two.
	for _, n := range []*Node{a, b} {
		eventually(t, "node-c is LEAVING", func() string {
			if st := stateOf(n, "node-c"); st != "LEAVING" {
				return fmt.Sprintf("%s sees node-c %q", n.Self().ID, st)
			}
			if h := ids(n.Healthy()); !slices.Equal(h, rest) {
				return fmt.Sprintf("%s sees healthy %v", n.Self().ID, h)
			}
			return ""
		})
	}

	if err := c.Stop(); err != nil {
		t.Fatalf("stop node-c: %v", err)
	}
	if err := c.SetActive(context.Background()); err != ErrNotStarted {
		t.Fatalf("SetActive after Stop: %v, want ErrNotStarted", err)
	}
	for _, n := range []*Node{a, b} {
		eventually(t, "node-c leaves", func() string {
			if h := ids(n.Healthy()); !slices.Equal(h, rest) {
				return fmt.Sprintf("%s sees healthy %v", n.Self().ID, h)
			}
			return ""
		})
		// Two of three replicas are a quorum: writes still find owners.
		if _, err := n.Owners(Token("tenant", labels.FromStrings("a", "b")), 3); err != nil {
			t.Fatalf("%s: Owners after node-c left: %v", n.Self().ID, err)
		}
	}
}

// stateOf returns the state n sees of the member id, "" if none.
func stateOf(n *Node, id string) string {
	for _, m := range n.Members() {
		if m.ID == id {
			return m.State
		}
	}
	return ""
}

// TestJoiningTakesNoWrites checks that a started node stays JOINING, out of
// the write replica sets, until SetActive.
func TestJoiningTakesNoWrites(t *testing.T) {
	a := startNode(t, "node-a")
	startNode(t, "node-b", a.GossipAddr())
	startNode(t, "node-c", a.GossipAddr())
	n, err := NewNode(Options{NodeName: "node-d", ListenAddr: "127.0.0.1:0", Join: []string{a.GossipAddr()},
		HeartbeatTimeout: testHeartbeatTimeout, ReplicationFactor: 3, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.SetActive(context.Background()); err != ErrNotStarted {
		t.Fatalf("SetActive before Start: %v, want ErrNotStarted", err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	eventually(t, "node-a sees node-d JOINING", func() string {
		if st := stateOf(a, "node-d"); st != "JOINING" {
			return fmt.Sprintf("node-d is %q", st)
		}
		if h := ids(a.Healthy()); len(h) != 3 {
			return fmt.Sprintf("healthy %v", h)
		}
		return ""
	})
	for i := range 50 {
		owners, err := a.Owners(Token("t", labels.FromStrings("i", fmt.Sprint(i))), 3)
		if err != nil || slices.Contains(ids(owners), "node-d") {
			t.Fatalf("Owners while node-d joins = %v, %v; want three without node-d", ids(owners), err)
		}
	}
	if err := n.SetActive(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node-a sees node-d ACTIVE", func() string {
		return converged(a, []string{"node-a", "node-b", "node-c", "node-d"})
	})
}

// TestGossipAdvertiseAddr checks that a node bound to every interface
// gossips the address it is told to advertise, and others reach it there.
func TestGossipAdvertiseAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	adv := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	a := startNodeWith(t, Options{NodeName: "node-a", ListenAddr: net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), GossipAdvertiseAddr: adv})
	b := startNode(t, "node-b", adv)
	for _, n := range []*Node{a, b} {
		eventually(t, "converge", func() string { return converged(n, []string{"node-a", "node-b"}) })
	}
	if _, err := NewNode(Options{NodeName: "x", ListenAddr: "127.0.0.1:0", GossipAdvertiseAddr: "nohost"}); err == nil {
		t.Fatalf("NewNode with a gossip advertise address without port did not fail")
	}
}

func TestNodeBeforeStart(t *testing.T) {
	n, err := NewNode(Options{NodeName: "x", ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Owners(1, 0); err != ErrEmptyRing {
		t.Fatalf("Owners before Start: %v, want ErrEmptyRing", err)
	}
	if n.Healthy() != nil || n.Members() != nil {
		t.Fatalf("Healthy or Members not empty before Start")
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	for _, o := range []Options{{ListenAddr: "127.0.0.1:0"}, {NodeName: "x"}, {NodeName: "x", ListenAddr: "nohost"}} {
		if _, err := NewNode(o); err == nil {
			t.Fatalf("NewNode(%+v) did not fail", o)
		}
	}
}
