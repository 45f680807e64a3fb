package replication_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/replication"
)

// TestPeerReadQuorum checks reads with ReadQuorum on three nodes and RF=3,
// every series on every node: a query asks one peer, answers completely,
// falls back to the other peer when the one it asked does not answer, and
// warns only when both are down.
func TestPeerReadQuorum(t *testing.T) {
	nodes := startReadCluster(t, 3)
	want := map[string][]sample{}
	for i := range 10 {
		lset := labels.FromStrings("__name__", "up", "instance", fmt.Sprintf("i-%02d", i))
		s := samplesFrom(1_000_000, 4, float64(i*10))
		appendTo(t, nodes, lset, s)
		want[lset.String()] = s
	}
	peers := func(timeout time.Duration) *replication.PeerQueryable {
		pq, err := replication.NewPeerQueryable(replication.PeerOptions{
			Ring: nodes[0].ring, Client: &http.Client{}, Timeout: timeout, ReplicationFactor: 3, ReadQuorum: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return pq
	}
	asked := func() int64 { return nodes[1].requests.Load() + nodes[2].requests.Load() }

	for i := range 4 {
		before := asked()
		got, warn := selectAll(t, withLocal(nodes[0], peers(10*time.Second)))
		if warn != nil {
			t.Fatalf("select %d, all nodes up: warning %v", i, warn)
		}
		sameData(t, "read quorum", got, want)
		if n := asked() - before; n != 1 {
			t.Fatalf("select %d asked %d peers, want 1 (self and one peer overlap every write quorum)", i, n)
		}
	}

	nodes[1].hang.Store(true)
	for i := range 4 {
		got, warn := selectAll(t, withLocal(nodes[0], peers(200*time.Millisecond)))
		if warn != nil {
			t.Fatalf("select %d, node-1 hanging: warning %v", i, warn)
		}
		sameData(t, "node-1 hanging", got, want)
	}
	nodes[2].hang.Store(true)
	_, warn := selectAll(t, withLocal(nodes[0], peers(200*time.Millisecond)))
	if !errors.Is(warn, model.ErrUnavailable) {
		t.Fatalf("node-1 and node-2 hanging: warning %v, want one wrapping ErrUnavailable", warn)
	}
	nodes[1].hang.Store(false)
	nodes[2].hang.Store(false)
}
