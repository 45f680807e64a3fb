package ring

import (
	"context"
	"errors"
	"fmt"
	"time"

	dskitring "github.com/grafana/dskit/ring"
)

// A node's state in the ring, as Member.State reports it:
//
//	JOINING  registered with its tokens by Start; owns no writes yet (the
//	         replica sets of its tokens extend past it)
//	ACTIVE   set by SetActive once the node's storage is open and ready
//	LEAVING  set by SetLeaving when the node is about to stop; again
//	         extended past, so new writes go to the next instances
//
// Stop unregisters the node whatever its state.

// ErrNotStarted is returned by the state changes before Start and after
// Stop.
var ErrNotStarted = errors.New("ring: node not running")

// SetActive marks this node ACTIVE: from the next heartbeat on, peers
// send it the writes of its tokens. It returns once the change is in the
// local KV store; gossip carries it to the others.
func (n *Node) SetActive(ctx context.Context) error {
	return n.changeState(ctx, dskitring.ACTIVE)
}

// SetLeaving marks this node LEAVING: peers stop sending it new writes
// once gossip carries the change (within a heartbeat period), while it
// still serves reads and finishes what it holds.
func (n *Node) SetLeaving(ctx context.Context) error {
	return n.changeState(ctx, dskitring.LEAVING)
}

// State returns this node's own state as the lifecycler holds it (ACTIVE,
// JOINING, LEAVING...), or "" before Start and after Stop.
func (n *Node) State() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lc == nil || n.stopped {
		return ""
	}
	return n.lc.GetState().String()
}

// HeartbeatPeriod is how often this node heartbeats: how long a state
// change may take to be gossiped as part of the next heartbeat.
func (n *Node) HeartbeatPeriod() time.Duration { return heartbeatPeriod(n.opts.HeartbeatTimeout) }

func (n *Node) changeState(ctx context.Context, st dskitring.InstanceState) error {
	n.mu.Lock()
	lc, stopped := n.lc, n.stopped
	n.mu.Unlock()
	if lc == nil || stopped {
		return ErrNotStarted
	}
	if err := lc.ChangeState(ctx, st); err != nil {
		return fmt.Errorf("ring: mark %s %s: %w", n.opts.NodeName, st, err)
	}
	return nil
}
