// Package replication moves samples between the nodes of a cluster.
//
// A Distributor takes one remote-write request at a time through the same
// Appender contract as the local store (remote.Appender), splits it by the
// series token (ring.Token of tenant and labels) and stores every series on
// its replicas: the node's own head when the node is one of them, and
// the others through their internal push endpoint (remote write 2.0 over
// HTTP, POST /internal/v1/push, tenant in X-Scope-OrgID):
//
//	d, err := replication.NewDistributor(replication.DistributorOptions{
//		Ring:  node,             // a started ring.Node
//		Local: localAppender,    // func(tenant) (Appender, error) over the head
//		Client: http.DefaultClient,
//	})
//	app, err := d.TenantAppender("team-a")
//	app.Append(0, lset, t, v)
//	err = app.Commit() // nil once every series reached its write quorum
//
// Commit returns once every series has been appended to the WAL of a
// write quorum of its replicas, W = RF/2+1 of the replication factor RF;
// slower replicas finish in the background within the peer timeout. A
// series whose quorum cannot be reached (too few healthy replicas, or too
// many failed) fails the commit with model.ErrNoQuorum, which the
// remote-write handler answers with 503 and Retry-After: the sender
// retries, and a retry stores each sample once (the head accepts the same
// sample again silently). Samples a replica refuses as invalid (too old, a
// different value at a stored timestamp, a series limit) count towards the
// quorum, since every replica would refuse them alike, and fail the commit
// with model.ErrRejected naming the series: a 400, as on a single node.
//
// The peer querier (peers*.go) is the read side: it asks the other nodes'
// heads over their internal read endpoints and warns when too many are
// unreachable for the answer to be complete.
package replication
