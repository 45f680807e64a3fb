package replication_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/replication"
	"github.com/gorilla-remote/gorilla-remote/ring"
	"github.com/gorilla-remote/gorilla-remote/tenant"
)

const testWait = 30 * time.Second

// member is one node of a test cluster: a real head, the real internal
// push handler over it on an httptest server, and a real ring node whose
// API address is that server's.
type member struct {
	name    string
	head    *head.Head
	srv     *httptest.Server
	node    *ring.Node
	handler atomic.Pointer[http.Handler] // what the server serves now
	tenants sync.Map                     // X-Scope-OrgID values seen
}

func (m *member) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id := r.Header.Get(tenant.Header); id != "" {
		m.tenants.Store(id, true)
	}
	(*m.handler.Load()).ServeHTTP(w, r)
}

// serve makes the member answer with h from now on.
func (m *member) serve(h http.Handler) { m.handler.Store(&h) }

type headAppendable struct{ h *head.Head }

func (a headAppendable) Appender() remote.Appender { return a.h.Appender() }

// startCluster starts n members joined in one ring of replication factor 3
// and waits until each sees all of them ACTIVE.
func startCluster(t testing.TB, n int) []*member {
	t.Helper()
	ms := make([]*member, n)
	var join []string
	for i := range ms {
		m := &member{name: fmt.Sprintf("node-%d", i)}
		h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		m.head = h
		push, err := remote.NewWriteHandler(headAppendable{h}, remote.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle(replication.PushPath, push)
		m.serve(mux)
		m.srv = httptest.NewServer(m)
		t.Cleanup(m.srv.Close)
		node, err := ring.NewNode(ring.Options{
			NodeName: m.name, ListenAddr: "127.0.0.1:0", AdvertiseAddr: m.srv.Listener.Addr().String(),
			Join: join, HeartbeatTimeout: 4 * time.Second, ReplicationFactor: 3,
			Registerer: prometheus.NewRegistry(),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		if err := node.Start(ctx); err != nil {
			cancel()
			t.Fatalf("start %s: %v", m.name, err)
		}
		// A node registers JOINING; it takes writes once ACTIVE.
		if err := node.SetActive(ctx); err != nil {
			cancel()
			t.Fatalf("activate %s: %v", m.name, err)
		}
		cancel()
		m.node = node
		join = append(join, node.GossipAddr())
		ms[i] = m
	}
	// Stopped together: each stop waits for its leave to gossip.
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Go(func() { _ = m.node.Stop() })
		}
		wg.Wait()
	})
	deadline := time.Now().Add(testWait)
	for _, m := range ms {
		for len(m.node.Healthy()) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%s sees %d healthy members, want %d", m.name, len(m.node.Healthy()), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return ms
}

// distributor returns the distributor of m with replication factor rf.
func distributor(t testing.TB, m *member, rf int, tenancy bool) *replication.Distributor {
	t.Helper()
	d, err := replication.NewDistributor(replication.DistributorOptions{
		Ring: m.node, ReplicationFactor: rf, Tenancy: tenancy, Timeout: testWait,
		Local: func(string) (replication.Appender, error) { return m.head.Appender(), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// write appends series {__name__=name, series=i} for i < n, each with
// samples at t = 1..k, through app and commits.
func write(app replication.Appender, name string, n, k int, value func(series, t int) float64) error {
	for i := range n {
		var ref model.SeriesRef
		lset := labels.FromStrings("__name__", name, "series", fmt.Sprint(i))
		for ts := 1; ts <= k; ts++ {
			r, err := app.Append(ref, lset, int64(ts), value(i, ts))
			if err != nil {
				return err
			}
			ref = r
		}
	}
	return app.Commit()
}

func linear(series, t int) float64 { return float64(series*1000 + t) }

// stored returns every sample of metric name in h by series label value.
func stored(t *testing.T, h *head.Head, name string) map[string][]float64 {
	t.Helper()
	q, err := query.New(h).Querier(0, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	out := map[string][]float64{}
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		for it.Next() != chunkenc.ValNone {
			_, v := it.At()
			out[s.Labels().Get("series")] = append(out[s.Labels().Get("series")], v)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAll fails unless m holds exactly the n series of name with samples
// 1..k of linear.
func checkAll(t *testing.T, m *member, name string, n, k int) {
	t.Helper()
	got := stored(t, m.head, name)
	if len(got) != n {
		t.Fatalf("%s holds %d series of %s, want %d", m.name, len(got), name, n)
	}
	for i := range n {
		vs := got[fmt.Sprint(i)]
		if len(vs) != k {
			t.Fatalf("%s: %s series %d has %d samples, want %d", m.name, name, i, len(vs), k)
		}
		for ts, v := range vs {
			if want := linear(i, ts+1); v != want {
				t.Fatalf("%s: %s series %d sample %d = %v, want %v", m.name, name, i, ts, v, want)
			}
		}
	}
}

// fail makes m answer every push with status code, until the test ends.
func fail(t *testing.T, m *member, code int) {
	real := *m.handler.Load()
	m.serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "injected failure", code)
	}))
	t.Cleanup(func() { m.serve(real) })
}

// hangUp makes m drop the connection of every push, until the test ends.
func hangUp(t *testing.T, m *member) {
	real := *m.handler.Load()
	m.serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(func() { m.serve(real) })
}

// TestDistributor runs every case on one three-node cluster: a ring takes
// seconds to start and to leave. Each case writes its own metric.
func TestDistributor(t *testing.T) {
	ms := startCluster(t, 3)
	t.Run("native histograms reach every replica", func(t *testing.T) { testHistogramsReachReplicas(t, ms) })
	t.Run("every replica gets every series, a retry stores nothing twice", func(t *testing.T) {
		d := distributor(t, ms[0], 3, false)
		if err := write(d.Appender(), "all", 50, 10, linear); err != nil {
			t.Fatalf("commit: %v", err)
		}
		// RF=3 on three nodes: every node holds every series. The pushes
		// beyond the quorum may still be under way when Commit returns.
		d.Wait()
		for _, m := range ms {
			checkAll(t, m, "all", 50, 10)
		}
		if err := write(d.Appender(), "all", 50, 10, linear); err != nil {
			t.Fatalf("retry: %v", err)
		}
		d.Wait()
		for _, m := range ms {
			checkAll(t, m, "all", 50, 10)
		}
	})
	t.Run("series are spread by token", func(t *testing.T) {
		d := distributor(t, ms[1], 1, false)
		if err := write(d.Appender(), "spread", 300, 2, linear); err != nil {
			t.Fatalf("commit: %v", err)
		}
		d.Wait()
		total := 0
		for _, m := range ms {
			n := len(stored(t, m.head, "spread"))
			// 128 random tokens each: a share far from a third means the
			// series were not placed by token.
			if n < 50 || n > 150 {
				t.Errorf("%s holds %d of 300 series with RF=1, want about a third", m.name, n)
			}
			total += n
		}
		if total != 300 {
			t.Fatalf("the nodes hold %d series in all, want each of the 300 once", total)
		}
	})
	t.Run("one replica failing: acknowledged by the other two", func(t *testing.T) {
		fail(t, ms[2], http.StatusServiceUnavailable)
		d := distributor(t, ms[0], 3, false)
		if err := write(d.Appender(), "one_down", 20, 5, linear); err != nil {
			t.Fatalf("commit with one replica failing: %v", err)
		}
		d.Wait()
		checkAll(t, ms[0], "one_down", 20, 5)
		checkAll(t, ms[1], "one_down", 20, 5)
		if got := len(stored(t, ms[2].head, "one_down")); got != 0 {
			t.Fatalf("the failing replica holds %d series", got)
		}
	})
	t.Run("two replicas failing: unavailable", func(t *testing.T) {
		hangUp(t, ms[1])
		fail(t, ms[2], http.StatusInternalServerError)
		d := distributor(t, ms[0], 3, false)
		err := write(d.Appender(), "two_down", 5, 5, linear)
		if !errors.Is(err, model.ErrUnavailable) {
			t.Fatalf("commit with two of three replicas failing: %v, want model.ErrUnavailable", err)
		}
	})
	t.Run("a replica that cannot decode is not counted", func(t *testing.T) {
		fail(t, ms[1], http.StatusBadRequest)
		fail(t, ms[2], http.StatusUnsupportedMediaType)
		d := distributor(t, ms[0], 3, false)
		err := write(d.Appender(), "undecoded", 5, 5, linear)
		if !errors.Is(err, model.ErrUnavailable) {
			t.Fatalf("commit with two replicas answering 400/415 without a refused series: %v, want model.ErrUnavailable", err)
		}
	})
	t.Run("a slow replica does not hold the commit", func(t *testing.T) {
		release := make(chan struct{})
		entered := make(chan struct{}, 16)
		real := *ms[2].handler.Load()
		ms[2].serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
			real.ServeHTTP(w, r)
		}))
		defer ms[2].serve(real)
		d := distributor(t, ms[0], 3, false)
		// Commit can only return while the third replica is held if it
		// does not wait for it.
		if err := write(d.Appender(), "slow", 10, 3, linear); err != nil {
			t.Fatalf("commit: %v", err)
		}
		<-entered
		close(release)
		d.Wait()
		checkAll(t, ms[2], "slow", 10, 3)
	})
	t.Run("samples every replica refuses are a rejection naming the series", func(t *testing.T) {
		d := distributor(t, ms[0], 3, false)
		if err := write(d.Appender(), "refused", 3, 2, linear); err != nil {
			t.Fatal(err)
		}
		d.Wait()
		// Another value at a stored timestamp.
		err := write(d.Appender(), "refused", 3, 2, func(int, int) float64 { return -1 })
		if !errors.Is(err, model.ErrRejected) {
			t.Fatalf("commit of changed samples: %v, want model.ErrRejected", err)
		}
		if want := `series="`; !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name the series", err)
		}
		d.Wait()
		for _, m := range ms {
			checkAll(t, m, "refused", 3, 2)
		}
	})
	t.Run("the tenant travels with the push", func(t *testing.T) {
		d := distributor(t, ms[0], 3, true)
		app, err := d.TenantAppender("team-a")
		if err != nil {
			t.Fatal(err)
		}
		if err := write(app, "tenant", 2, 1, linear); err != nil {
			t.Fatal(err)
		}
		d.Wait()
		for _, m := range ms[1:] {
			if _, ok := m.tenants.Load("team-a"); !ok {
				t.Fatalf("%s got no push with X-Scope-OrgID team-a", m.name)
			}
		}
	})
}
