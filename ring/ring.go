package ring

import (
	"errors"
	"time"
)

// Ring is the view of the cluster that replication needs. Implementations
// are safe for concurrent use; the answers reflect the latest gossip this
// node has received, so two nodes agree once gossip has converged.
type Ring interface {
	// Owners returns the replicas of token: the next rf distinct
	// instances clockwise from it, at most one per zone when zones are set,
	// without the unhealthy ones. While an instance joins or leaves the set
	// may be extended past it, as dskit does for writes. It fails with an
	// error wrapping ErrNoQuorum when fewer than rf/2+1 are healthy, and
	// with ErrEmptyRing before any instance has registered. rf <= 0 means
	// Options.ReplicationFactor, which rf must not exceed.
	Owners(token uint32, rf int) ([]Instance, error)
	// Healthy returns the ACTIVE instances whose heartbeat is within the
	// timeout, sorted by ID.
	Healthy() []Instance
	// Self returns this node's own instance.
	Self() Instance
	// Members returns every instance the ring holds, healthy or not,
	// sorted by ID.
	Members() []Member
}

// Instance is one member of the ring as peers address it.
type Instance struct {
	ID   string // unique node name
	Addr string // host:port other nodes use to reach this node's API
	Zone string // availability zone, empty without zone awareness
}

// Member is an Instance with its state in the ring, for status pages.
type Member struct {
	Instance
	State         string    // ACTIVE, JOINING, LEAVING, PENDING or LEFT
	Healthy       bool      // ACTIVE and heartbeat within the timeout
	Tokens        int       // number of tokens it owns
	Ownership     float64   // share of the token space it owns, in [0, 1]
	LastHeartbeat time.Time // second resolution, zero if unknown
}

var (
	// ErrEmptyRing is returned by Owners while no instance holds tokens.
	ErrEmptyRing = errors.New("ring is empty")
	// ErrNoQuorum is wrapped by Owners when too few replicas are healthy.
	ErrNoQuorum = errors.New("not enough healthy replicas")
)
