package main

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/replication"
)

// replicatedWriteHandler builds the public remote-write handler of a
// cluster node: each series goes to its replicas in the ring, this node's
// share appended through local (its head, or the tenant's), and a write is
// acknowledged once every series reached its write quorum
// (docs/cluster.md). The distributor is kept in srv.dist, closed by
// closeDistributor once the HTTP server has stopped.
func (srv *server) replicatedWriteHandler(local func(tenant string) (remote.Appender, error), reg prometheus.Registerer) (http.Handler, error) {
	d, err := replication.NewDistributor(replication.DistributorOptions{
		Ring: srv.cluster.ring(),
		Local: func(id string) (replication.Appender, error) {
			app, err := local(id)
			return app, err
		},
		Client:            srv.cluster.client(),
		Scheme:            srv.cluster.scheme(),
		ReplicationFactor: srv.cluster.rf(),
		Timeout:           srv.cluster.timeout(),
		Tenancy:           srv.s.TenancyEnabled,
		Logger:            srv.log.With("component", "replication"),
		Registerer:        reg,
	})
	if err != nil {
		return nil, fmt.Errorf("replicated write path: %w", err)
	}
	write, err := srv.writeHandler(replicated{d}, reg)
	if err != nil {
		d.Close()
		return nil, err
	}
	srv.dist.Store(d)
	return write, nil
}

// closeDistributor waits for the pushes to replicas still under way and
// unregisters the distributor's metrics; a no-op without cluster mode.
func (srv *server) closeDistributor() {
	if d := srv.dist.Swap(nil); d != nil {
		d.Close()
	}
}

// replicated adapts the distributor to the remote-write handler's store:
// every request, of any tenant, goes through TenantAppender.
type replicated struct{ d *replication.Distributor }

func (r replicated) Appender() remote.Appender { return r.d.Appender() }

func (r replicated) TenantAppender(id string) (remote.Appender, error) {
	app, err := r.d.TenantAppender(id)
	return app, err
}
