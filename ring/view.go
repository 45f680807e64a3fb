package ring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	dskitring "github.com/grafana/dskit/ring"
)

// watched returns the started dskit ring, or nil before Start and after
// Stop.
func (n *Node) watched() *dskitring.Ring {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil
	}
	return n.ring
}

// Owners implements Ring with dskit's Get for writes: the replica set is
// extended past instances that are not ACTIVE, and the default replication
// strategy drops the unhealthy ones and checks the quorum.
func (n *Node) Owners(token uint32, rf int) ([]Instance, error) {
	var buf OwnersBuffer
	return n.OwnersInto(token, rf, &buf)
}

// OwnersBuffer holds what OwnersInto needs between calls, so that looking
// up the replicas of every series of a write allocates nothing once the
// buffers have grown. The zero value is ready to use; a buffer serves one
// goroutine at a time.
type OwnersBuffer struct {
	descs []dskitring.InstanceDesc
	hosts []string
	out   []Instance
}

// OwnersInto is Owners with the buffers of buf: the same answer, in a
// slice that stays valid only until the next call with buf.
func (n *Node) OwnersInto(token uint32, rf int, buf *OwnersBuffer) ([]Instance, error) {
	if rf <= 0 {
		rf = n.opts.ReplicationFactor
	}
	if rf > n.opts.ReplicationFactor {
		return nil, fmt.Errorf("ring: rf %d above the configured replication factor %d", rf, n.opts.ReplicationFactor)
	}
	r := n.watched()
	if r == nil {
		return nil, ErrEmptyRing
	}
	if buf.hosts == nil {
		// dskit appends the instances it examined here and never hands
		// the slice back: it must be large enough from the start.
		buf.hosts = make([]string, 0, 4*n.opts.ReplicationFactor)
	}
	// dskit resolves the configured factor; a smaller rf keeps the first
	// rf of that set, which are the first rf clockwise.
	set, err := r.Get(token, dskitring.Write, buf.descs[:0], buf.hosts[:0], nil)
	switch {
	case errors.Is(err, dskitring.ErrEmptyRing):
		return nil, ErrEmptyRing
	case err != nil:
		return nil, fmt.Errorf("%w: token %d: %w", ErrNoQuorum, token, err)
	}
	descs := set.Instances
	if cap(descs) > cap(buf.descs) {
		buf.descs = descs[:0] // grown by dskit: keep the larger one
	}
	if rf < n.opts.ReplicationFactor && len(descs) > rf {
		descs = descs[:rf]
	}
	out := buf.out[:0]
	for _, d := range descs {
		out = append(out, instanceOf(d))
	}
	buf.out = out
	return out, nil
}

// Healthy implements Ring.
func (n *Node) Healthy() []Instance {
	r := n.watched()
	if r == nil {
		return nil
	}
	set, err := r.GetAllHealthy(dskitring.WriteNoExtend)
	if err != nil {
		return nil
	}
	out := make([]Instance, 0, len(set.Instances))
	for _, d := range set.Instances {
		out = append(out, instanceOf(d))
	}
	slices.SortFunc(out, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Self implements Ring.
func (n *Node) Self() Instance {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lc != nil {
		return Instance{ID: n.lc.GetInstanceID(), Addr: n.lc.GetInstanceAddr(), Zone: n.lc.GetInstanceZone()}
	}
	return Instance{ID: n.opts.NodeName, Addr: n.opts.AdvertiseAddr, Zone: n.opts.Zone}
}

// Members implements Ring from the ring descriptor in the local KV store;
// it does no network I/O.
func (n *Node) Members() []Member {
	n.mu.Lock()
	client, stopped := n.client, n.stopped
	n.mu.Unlock()
	if client == nil || stopped {
		return nil
	}
	v, err := client.Get(context.Background(), ringKey)
	desc, ok := v.(*dskitring.Desc)
	if err != nil || !ok || desc == nil {
		return nil
	}
	return members(desc, n.opts.HeartbeatTimeout, time.Now())
}

// members lists the instances of desc with their share of the token
// space: a key belongs to the first token at or after it, clockwise, so a
// token owns the range from the previous token (exclusive) to itself.
func members(desc *dskitring.Desc, timeout time.Duration, now time.Time) []Member {
	owner := map[uint32]string{}
	var all []uint32
	for id, d := range desc.Ingesters {
		for _, t := range d.Tokens {
			owner[t] = id
			all = append(all, t)
		}
	}
	slices.Sort(all)
	owned := map[string]float64{}
	for i, t := range all {
		prev := all[(i+len(all)-1)%len(all)]
		owned[owner[t]] += float64(t - prev) // wraps modulo 2^32 for i == 0
	}
	if len(all) == 1 {
		owned[owner[all[0]]] = math.MaxUint32 + 1
	}
	out := make([]Member, 0, len(desc.Ingesters))
	for id, d := range desc.Ingesters {
		d.Id = id
		out = append(out, Member{
			Instance:      instanceOf(d),
			State:         d.State.String(),
			Healthy:       d.IsHealthy(dskitring.WriteNoExtend, timeout, now),
			Tokens:        len(d.Tokens),
			Ownership:     owned[id] / (math.MaxUint32 + 1),
			LastHeartbeat: d.GetLastHeartbeatAt(),
		})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func instanceOf(d dskitring.InstanceDesc) Instance {
	return Instance{ID: d.Id, Addr: d.Addr, Zone: d.Zone}
}
