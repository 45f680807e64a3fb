package replication

import (
	"net/http"
	"time"
)

// PeerIdleConns is how many idle keep-alive connections NewPeerClient
// keeps to each peer. Every write pushes to RF-1 peers at once from every
// concurrent request and every query fans out to all of them, so far more
// than net/http's default of 2 are in use at a time; with 2, each push
// beyond them opens (and soon closes) a connection of its own.
const PeerIdleConns = 256

// NewPeerClient returns the HTTP client for plain (http, no credentials)
// requests to peers: net/http's default transport settings (proxy from
// the environment, dial and TLS timeouts) with PeerIdleConns idle
// connections per peer kept for reuse. Each call returns a new client with
// its own connection pool.
func NewPeerClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = PeerIdleConns
	tr.MaxIdleConns = 4 * PeerIdleConns
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr}
}
