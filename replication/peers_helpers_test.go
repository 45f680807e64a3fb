package replication_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/replication"
	"github.com/gorilla-remote/gorilla-remote/ring"
)

const clusterWait = 30 * time.Second

// testNode is one node of an in-process cluster: a real head, the
// internal API over it on an httptest server, and a ring node that
// advertises that server.
type testNode struct {
	id   string
	head *head.Head
	srv  *httptest.Server
	ring *ring.Node
	// hang makes the server hold every request until the client gives up.
	hang *atomic.Bool
	// requests counts the requests the server received.
	requests *atomic.Int64
}

// internalAPI serves the internal API over h alone: remote read at
// /internal/v1/read, and the Prometheus API endpoints under /internal/v1/.
func internalAPI(t *testing.T, h *head.Head) http.Handler {
	t.Helper()
	q := query.New(h)
	read, err := remote.NewReadHandler(q, remote.ReadOptions{})
	if err != nil {
		t.Fatalf("NewReadHandler: %v", err)
	}
	t.Cleanup(read.Close)
	eng, err := promql.NewEngine(promql.EngineOptions{})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	api, err := promql.NewAPI(promql.APIOptions{Engine: eng, Queryable: q, Metadata: h, Exemplars: h})
	if err != nil {
		t.Fatalf("NewAPI: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(replication.PathRead, read)
	mux.HandleFunc("/internal/v1/", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/api/v1/" + strings.TrimPrefix(r.URL.Path, "/internal/v1/")
		r.URL.RawPath = ""
		api.ServeHTTP(w, r)
	})
	return mux
}

// startReadCluster starts n nodes, node-0 … node-(n-1), and waits until
// node-0 sees all of them ACTIVE and healthy.
func startReadCluster(t *testing.T, n int) []*testNode {
	t.Helper()
	nodes := make([]*testNode, n)
	started := make([]*ring.Node, 0, n)
	// Stopped together: each stop waits for its leave to gossip.
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, rn := range started {
			wg.Go(func() { _ = rn.Stop() })
		}
		wg.Wait()
	})
	for i := range nodes {
		h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
		if err != nil {
			t.Fatalf("open head: %v", err)
		}
		t.Cleanup(func() { _ = h.Close() })
		hang, requests, api := new(atomic.Bool), new(atomic.Int64), internalAPI(t, h)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if hang.Load() {
				// The server notices the client going away only once the
				// body is read.
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-time.After(clusterWait):
				}
				return
			}
			api.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		var join []string
		if i > 0 {
			join = []string{nodes[0].ring.GossipAddr()}
		}
		id := fmt.Sprintf("node-%d", i)
		rn, err := ring.NewNode(ring.Options{
			NodeName:          id,
			ListenAddr:        "127.0.0.1:0",
			AdvertiseAddr:     srv.Listener.Addr().String(),
			Join:              join,
			HeartbeatTimeout:  4 * time.Second,
			ReplicationFactor: 3,
			Registerer:        prometheus.NewRegistry(),
		})
		if err != nil {
			t.Fatalf("new ring node: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
		err = rn.Start(ctx)
		started = append(started, rn)
		if err == nil {
			// A node registers JOINING and is marked ACTIVE once ready.
			err = rn.SetActive(ctx)
		}
		cancel()
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		nodes[i] = &testNode{id: id, head: h, srv: srv, ring: rn, hang: hang, requests: requests}
	}
	deadline := time.Now().Add(clusterWait)
	for len(nodes[0].ring.Healthy()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("node-0 sees %d healthy nodes after %v, want %d", len(nodes[0].ring.Healthy()), clusterWait, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nodes
}

// appendTo appends samples (t, v) of lset to the heads of nodes.
func appendTo(t *testing.T, nodes []*testNode, lset labels.Labels, samples []sample) {
	t.Helper()
	for _, n := range nodes {
		app := n.head.Appender()
		for _, s := range samples {
			if _, err := app.Append(0, lset, s.t, s.v); err != nil {
				t.Fatalf("%s: append %s@%d: %v", n.id, lset, s.t, err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatalf("%s: commit: %v", n.id, err)
		}
	}
}

type sample struct {
	t int64
	v float64
}

// samplesFrom returns n samples every 15s from t0, of values v0, v0+1, …
func samplesFrom(t0 int64, n int, v0 float64) []sample {
	out := make([]sample, n)
	for i := range out {
		out[i] = sample{t: t0 + int64(i)*15_000, v: v0 + float64(i)}
	}
	return out
}

// collect reads a series set into label string → samples, failing on a
// series out of order or repeated.
func collect(t *testing.T, ss storage.SeriesSet) (map[string][]sample, annotations.Annotations) {
	t.Helper()
	out := map[string][]sample{}
	var prev labels.Labels
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		if prev.Len() > 0 && labels.Compare(prev, s.Labels()) >= 0 {
			t.Fatalf("series %s after %s: not sorted or repeated", s.Labels(), prev)
		}
		prev = s.Labels()
		it = s.Iterator(it)
		var got []sample
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			got = append(got, sample{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatalf("iterate %s: %v", s.Labels(), err)
		}
		out[s.Labels().String()] = got
	}
	if err := ss.Err(); err != nil {
		t.Fatalf("series set: %v", err)
	}
	return out, ss.Warnings()
}

// sameData fails unless got holds exactly the series and samples of want.
func sameData(t *testing.T, what string, got, want map[string][]sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d series, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s: series %s missing", what, k)
		}
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Fatalf("%s: series %s: got %v, want %v", what, k, g, w)
		}
	}
}

// unavailable returns the partial-result warning of annos, or nil.
func unavailable(annos annotations.Annotations) error {
	for _, w := range annos {
		if errors.Is(w, model.ErrUnavailable) {
			return w
		}
	}
	return nil
}
