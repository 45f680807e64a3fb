package main

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

// testServer is a server of the serve command running in the test's
// process, and a client for it.
type testServer struct {
	rs     *runningServer
	url    string
	client *http.Client
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startTestServer runs srv and waits until /-/ready answers 200, or
// returns run's error if it stops first.
func startTestServer(srv *server) (*testServer, error) {
	return startTestServerWith(srv, "http://"+srv.s.ListenAddress, &http.Client{Timeout: time.Minute})
}

// startTestServerWith is startTestServer with the server's base URL and
// the client to reach it with (for TLS and basic auth).
func startTestServerWith(srv *server, url string, client *http.Client) (*testServer, error) {
	d := &testServer{
		rs:     &runningServer{srv: srv, done: make(chan struct{})},
		url:    url,
		client: client,
	}
	go func() {
		defer close(d.rs.done)
		d.rs.err = srv.run()
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		select {
		case <-d.rs.done:
			return nil, errors.Join(errors.New("the server stopped before it was ready"), d.rs.err)
		default:
		}
		if resp, err := d.client.Get(d.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(errors.New("the server was not ready within a minute"), d.stop())
		}
	}
}

func (d *testServer) stop() error {
	err := d.rs.Stop()
	d.client.CloseIdleConnections()
	return err
}
