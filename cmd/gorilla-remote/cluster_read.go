package main

import (
	"fmt"

	"github.com/prometheus/prometheus/storage"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/replication"
)

// reads are what a stack's query endpoints read: the samples, the
// metadata and the exemplars. On a single node they are the local head
// and blocks; in a cluster, those merged with the other nodes' heads.
type reads struct {
	q         storage.SampleAndChunkQueryable
	metadata  promql.Metadata
	exemplars promql.ExemplarQuerier
}

// stackReads returns the reads of the stack of tenant id over its head h
// and its local queryable q (head, blocks, tombstones). In a cluster every
// query also asks the heads of the other nodes (their internal read
// endpoints) and merges the replicas, one sample per timestamp: the blocks
// in the bucket are shared, but the samples not yet sealed are spread over
// the nodes that own them.
func (srv *server) stackReads(id string, h *head.Head, q *query.Queryable) (reads, error) {
	if srv.cluster == nil {
		return reads{q: q, metadata: h, exemplars: h}, nil
	}
	opts := replication.PeerOptions{
		Ring:              srv.cluster.ring(),
		Client:            srv.cluster.client(),
		Scheme:            srv.cluster.scheme(),
		Timeout:           srv.cluster.timeout(),
		ReplicationFactor: srv.cluster.rf(),
		HeartbeatTimeout:  srv.s.Cluster.HeartbeatTimeout,
		Logger:            srv.log.With("component", "peer-reads"),
		// Writes reach a quorum of replicas, so when every node holds
		// every series a quorum of reads sees all of them (docs/cluster.md).
		ReadQuorum: true,
	}
	if srv.s.TenancyEnabled {
		opts.Tenant = id
	}
	peers, err := replication.NewPeerQueryable(opts)
	if err != nil {
		return reads{}, fmt.Errorf("cluster reads: %w", err)
	}
	return reads{
		q:         clusterQueryable{local: q, peers: peers},
		metadata:  replication.NewPeerMetadata(peers, h),
		exemplars: replication.NewPeerExemplars(peers, h),
	}, nil
}

// clusterQueryable merges the local store (primary: its errors fail the
// query) with the peers' heads (secondary: a peer that fails is a
// warning, and the peer queryable warns itself when the answer may be
// partial). Replicas of a series merge into one, each timestamp once.
type clusterQueryable struct {
	local *query.Queryable
	peers *replication.PeerQueryable
}

var _ storage.SampleAndChunkQueryable = clusterQueryable{}

func (c clusterQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	l, err := c.local.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	p, err := c.peers.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return storage.NewMergeQuerier([]storage.Querier{l}, []storage.Querier{p}, storage.ChainedSeriesMerge), nil
}

func (c clusterQueryable) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	l, err := c.local.ChunkQuerier(mint, maxt)
	if err != nil {
		return nil, err
	}
	p, err := c.peers.ChunkQuerier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return storage.NewMergeChunkQuerier([]storage.ChunkQuerier{l}, []storage.ChunkQuerier{p},
		storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge)), nil
}
