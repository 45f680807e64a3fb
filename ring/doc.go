// Package ring is cluster membership and the token ring of gorilla-remote.
//
// It wraps grafana/dskit's ring, basic lifecycler and memberlist KV (SWIM
// gossip, no Consul or etcd) behind a small interface of our own, so that
// replication depends on Ring and never on dskit types:
//
//	n, err := ring.NewNode(ring.Options{
//		NodeName:   "node-a",
//		ListenAddr: "0.0.0.0:7946",
//		Join:       []string{"node-b:7946"},
//		Logger:     logger,
//	})
//	if err := n.Start(ctx); err != nil { ... } // registered JOINING
//	defer n.Stop()
//	// ... once this node can take writes:
//	if err := n.SetActive(ctx); err != nil { ... }
//	owners, err := n.Owners(ring.Token(tenant, lset), 3)
//	// ... or, for every series of a write, without allocating:
//	var buf ring.OwnersBuffer
//	owners, err = n.OwnersInto(token, 3, &buf) // valid until the next call
//	// ... before stopping, so that new writes go elsewhere:
//	err = n.SetLeaving(ctx)
//
// A series' token is a hash of its tenant and sorted labels (Token); its
// replicas are the next RF distinct instances clockwise from the token, one
// per zone when zones are set. Every instance owns 128 random tokens.
//
// dskit logs through a go-kit logger: the adapter from *slog.Logger lives in
// this package only (logger.go).
package ring
