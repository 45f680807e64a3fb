package main

import (
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// admin returns the TSDB admin operations over the head, its blocks and
// its tombstones (snapshots under dir) when --web.enable-admin-api is set, and nil otherwise
// (the endpoints then answer 503 as Prometheus's do).
func (srv *server) admin(h *head.Head, b *blocks, tombs *query.Tombstones, dir string) promql.Admin {
	if !srv.s.EnableAdminAPI {
		return nil
	}
	a, err := query.NewAdmin(query.AdminOptions{
		Head: h, Tombstones: tombs, Dir: dir, Seal: b.shipper.Once,
	})
	if err != nil {
		panic("BUG: admin over an open head: " + err.Error())
	}
	return a
}
