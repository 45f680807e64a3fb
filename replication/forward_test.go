package replication_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/replication"
)

// region is one test region: a real head behind the real remote-write
// handler on an httptest server, whose handler a test may swap.
type region struct {
	head    *head.Head
	write   http.Handler // the handler over the head, with forwarding when set up
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler]
	seen    sync.Map // header values of the requests received, by "name: value"
	posts   atomic.Int64
}

func newRegion(t *testing.T) *region {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	w, err := remote.NewWriteHandler(headAppendable{h}, remote.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &region{head: h, write: w}
	r.serve(w)
	r.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		r.posts.Add(1)
		for _, k := range []string{replication.ReplicatedFromHeader, "X-Scope-OrgID", "X-Prometheus-Remote-Write-Version"} {
			r.seen.Store(k+": "+req.Header.Get(k), true)
		}
		(*r.handler.Load()).ServeHTTP(rw, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *region) serve(h http.Handler) { r.handler.Store(&h) }

func (r *region) url() string { return r.srv.URL + "/api/v1/write" }

// forwardTo makes r forward what it stores to the peers, and returns the
// forwarder, running until the test ends. opts.Regions[i], if given, is
// the template of peer i, its name and URL filled in.
func (r *region) forwardTo(t *testing.T, opts replication.ForwarderOptions, peers ...*region) *replication.Forwarder {
	t.Helper()
	if opts.Region == "" {
		opts.Region = "a"
	}
	opts.Dir = filepath.Join(t.TempDir(), "replication")
	tmpl := opts.Regions
	opts.Regions = nil
	for i, p := range peers {
		var ro replication.RegionOptions
		if i < len(tmpl) {
			ro = tmpl[i]
		}
		ro.Name, ro.URL = fmt.Sprintf("peer-%d", i), p.url()
		opts.Regions = append(opts.Regions, ro)
	}
	f, err := replication.NewForwarder(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	r.serve(f.Wrap(r.write))
	return f
}

// rw1 builds a remote write 1.0 body: series {__name__=name, series=i}
// for i < n, samples at t = from..from+k-1.
func rw1(name string, n, from, k int) []byte {
	req := &prompb.WriteRequest{}
	for i := range n {
		ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}, {Name: "series", Value: fmt.Sprint(i)}}}
		for j := from; j < from+k; j++ {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: int64(j) * 1000, Value: value(i, j)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	raw, err := req.Marshal()
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return snappy.Encode(nil, raw)
}

// rw2 builds the remote write 2.0 body of the same series as rw1.
func rw2(name string, n, from, k int) []byte {
	syms := writev2.NewSymbolTable()
	req := &writev2.Request{}
	for i := range n {
		ts := writev2.TimeSeries{LabelsRefs: syms.SymbolizeLabels(labels.FromStrings("__name__", name, "series", fmt.Sprint(i)), nil)}
		for j := from; j < from+k; j++ {
			ts.Samples = append(ts.Samples, writev2.Sample{Timestamp: int64(j) * 1000, Value: value(i, j)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = syms.Symbols()
	raw, err := req.Marshal()
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return snappy.Encode(nil, raw)
}

// value is sample j of series i; every 7th is the stale marker, which
// must arrive bit for bit.
func value(i, j int) float64 {
	if j%7 == 6 {
		return math.Float64frombits(0x7ff0000000000002)
	}
	return float64(i)*1.5 + float64(j)/3
}

// post sends body to r as a remote write of the given version.
func post(t *testing.T, r *region, body []byte, v2 bool, hdr ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	if v2 {
		req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	} else {
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// dump returns every sample of h as "labels t bits" lines by series.
func dump(t *testing.T, h *head.Head) map[string][]string {
	t.Helper()
	q, err := query.New(h).Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := map[string][]string{}
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		for it.Next() != chunkenc.ValNone {
			ts, v := it.At()
			out[s.Labels().String()] = append(out[s.Labels().String()], fmt.Sprintf("%d %x", ts, math.Float64bits(v)))
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// converge waits until b holds exactly what a holds.
func converge(t *testing.T, a, b *region) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		want, got := dump(t, a.head), dump(t, b.head)
		if len(want) > 0 && reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the peer holds %d series, want %d, the same samples as the origin", len(got), len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noLeaks fails the test if a goroutine it started outlives it; it runs
// after every clean-up registered later.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
}

func TestForwarderConverges(t *testing.T) {
	noLeaks(t)
	a, b := newRegion(t), newRegion(t)
	f := a.forwardTo(t, replication.ForwarderOptions{Region: "eu-west"}, b)
	for i := range 20 {
		if code := post(t, a, rw1("one", 10, i*10, 10), false); code != http.StatusNoContent {
			t.Fatalf("RW1 write %d answered %d", i, code)
		}
		if code := post(t, a, rw2("two", 10, i*10, 10), true); code != http.StatusNoContent {
			t.Fatalf("RW2 write %d answered %d", i, code)
		}
	}
	converge(t, a, b)
	eventually(t, "the queue drains", func() bool { return f.Status()[0].BacklogRequests == 0 })
	st := f.Status()[0]
	if st.Sent != 40 || st.SentSamples != 2*20*100 || st.Dropped != 0 || st.Failed != 0 || st.State != replication.StateOK {
		t.Fatalf("status = %+v, want 40 requests and 4000 samples sent, none dropped or failed, state ok", st)
	}
	if _, ok := b.seen.Load(replication.ReplicatedFromHeader + ": eu-west"); !ok {
		t.Fatalf("the peer never saw %s: eu-west", replication.ReplicatedFromHeader)
	}
	if _, ok := b.seen.Load("X-Prometheus-Remote-Write-Version: 2.0.0"); !ok {
		t.Fatal("the remote write 2.0 requests were not forwarded as 2.0")
	}
}

func TestForwarderKeepsTenant(t *testing.T) {
	a, b := newRegion(t), newRegion(t)
	f := a.forwardTo(t, replication.ForwarderOptions{}, b)
	if code := post(t, a, rw1("m", 1, 0, 3), false, "X-Scope-OrgID", "team-a"); code != http.StatusNoContent {
		t.Fatalf("write answered %d", code)
	}
	eventually(t, "the request is sent", func() bool { return f.Status()[0].Sent == 1 })
	if _, ok := b.seen.Load("X-Scope-OrgID: team-a"); !ok {
		t.Fatal("the forwarded request lost its X-Scope-OrgID")
	}
}

func TestForwarderNeverForwardsForwarded(t *testing.T) {
	a, b := newRegion(t), newRegion(t)
	// Both forward to each other.
	fa := a.forwardTo(t, replication.ForwarderOptions{Region: "a"}, b)
	fb := b.forwardTo(t, replication.ForwarderOptions{Region: "b"}, a)
	for i := range 5 {
		post(t, a, rw1("from_a", 3, i*5, 5), false)
		post(t, b, rw1("from_b", 3, i*5, 5), false)
	}
	converge(t, a, b)
	converge(t, b, a)
	eventually(t, "both queues drain", func() bool {
		return fa.Status()[0].BacklogRequests == 0 && fb.Status()[0].BacklogRequests == 0
	})
	// Each region received its 5 writes and the other's 5, nothing more.
	if got := a.posts.Load(); got != 10 {
		t.Fatalf("region a received %d requests, want 10", got)
	}
	if got := b.posts.Load(); got != 10 {
		t.Fatalf("region b received %d requests, want 10", got)
	}
	if sa, sb := fa.Status()[0].Sent, fb.Status()[0].Sent; sa != 5 || sb != 5 {
		t.Fatalf("forwarded %d and %d requests, want 5 each", sa, sb)
	}
}

// flaky answers the first n requests with code and Retry-After, then
// passes them to next.
func flaky(n int, code int, retryAfter string, next http.Handler) http.Handler {
	var seen atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= int64(n) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, "injected", code)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestForwarderBackoffHonoursRetryAfter(t *testing.T) {
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			a, b := newRegion(t), newRegion(t)
			b.serve(flaky(3, code, "7", b.write))
			var mu sync.Mutex
			var waits []time.Duration
			after := func(d time.Duration) <-chan time.Time {
				mu.Lock()
				waits = append(waits, d)
				mu.Unlock()
				return time.After(0)
			}
			f := a.forwardTo(t, replication.ForwarderOptions{After: after, MinBackoff: time.Second, Concurrency: 1}, b)
			post(t, a, rw1("m", 2, 0, 5), false)
			converge(t, a, b)
			mu.Lock()
			defer mu.Unlock()
			if len(waits) != 3 {
				t.Fatalf("waited %d times, want 3 (one per refusal): %v", len(waits), waits)
			}
			for _, d := range waits {
				if d < 7*time.Second {
					t.Fatalf("waited %v after Retry-After: 7, want at least 7s (all: %v)", d, waits)
				}
			}
			// B stores the request before the forwarder reads its answer:
			// the status counts the send a moment after B holds the data.
			st := f.Status()[0]
			for deadline := time.Now().Add(10 * time.Second); st.Sent == 0 && time.Now().Before(deadline); st = f.Status()[0] {
				time.Sleep(5 * time.Millisecond)
			}
			if st.Retried != 3 || st.Sent != 1 {
				t.Fatalf("status = %+v, want 3 retried and 1 sent", st)
			}
		})
	}
}

func TestForwarderBackoffGrows(t *testing.T) {
	a, b := newRegion(t), newRegion(t)
	b.serve(flaky(6, http.StatusInternalServerError, "", b.write))
	var mu sync.Mutex
	var waits []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return time.After(0)
	}
	a.forwardTo(t, replication.ForwarderOptions{After: after, MinBackoff: time.Second, MaxBackoff: 8 * time.Second, Concurrency: 1}, b)
	post(t, a, rw1("m", 1, 0, 5), false)
	converge(t, a, b)
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i := range want {
		want[i] *= time.Second
	}
	if !reflect.DeepEqual(waits, want) {
		t.Fatalf("waits = %v, want %v", waits, want)
	}
}

func TestForwarderDropsRefused(t *testing.T) {
	a, b := newRegion(t), newRegion(t)
	b.serve(flaky(1, http.StatusBadRequest, "", b.write))
	f := a.forwardTo(t, replication.ForwarderOptions{Concurrency: 1}, b)
	post(t, a, rw1("m", 1, 0, 5), false)
	post(t, a, rw1("m", 1, 5, 5), false)
	eventually(t, "the queue drains", func() bool { return f.Status()[0].BacklogRequests == 0 })
	st := f.Status()[0]
	if st.Failed != 1 || st.FailedSamples != 5 || st.Retried != 0 || st.Sent != 1 {
		t.Fatalf("status = %+v, want 1 failed (5 samples), none retried, 1 sent", st)
	}
}

func TestForwarderPeerDown(t *testing.T) {
	noLeaks(t)
	a, b := newRegion(t), newRegion(t)
	down := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// A network failure: the connection is dropped without an answer.
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = c.Close()
		}
	})
	b.serve(down)
	fast := func(time.Duration) <-chan time.Time { return time.After(time.Millisecond) }
	f := a.forwardTo(t, replication.ForwarderOptions{After: fast, Concurrency: 2}, b)
	for i := range 30 {
		if code := post(t, a, rw2("m", 5, i*3, 3), true); code != http.StatusNoContent {
			t.Fatalf("write %d with the peer down answered %d, want 204", i, code)
		}
	}
	eventually(t, "the region is down", func() bool { return f.Status()[0].State == replication.StateDown })
	if st := f.Status()[0]; st.BacklogRequests != 30 || st.BacklogSamples != 450 || st.Sent != 0 {
		t.Fatalf("status with the peer down = %+v, want 30 requests of 450 samples queued", st)
	}
	b.serve(b.write)
	converge(t, a, b)
	eventually(t, "the queue drains", func() bool { return f.Status()[0].BacklogRequests == 0 })
	if st := f.Status()[0]; st.State != replication.StateOK || st.Sent != 30 || st.Retried == 0 || st.Dropped != 0 {
		t.Fatalf("status after recovery = %+v, want ok, 30 sent after retries, none dropped", st)
	}
}

func TestForwarderDropsPastMaxLag(t *testing.T) {
	a, b := newRegion(t), newRegion(t)
	b.serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	fast := func(time.Duration) <-chan time.Time { return time.After(time.Millisecond) }
	f := a.forwardTo(t, replication.ForwarderOptions{Now: clock, After: fast, Concurrency: 1,
		Regions: []replication.RegionOptions{{MaxLag: time.Minute}}}, b)
	post(t, a, rw1("old", 1, 0, 4), false)
	post(t, a, rw1("old", 1, 4, 4), false)
	eventually(t, "the region is down", func() bool { return f.Status()[0].State == replication.StateDown })
	advance(2 * time.Minute)
	post(t, a, rw1("new", 1, 0, 4), false)
	eventually(t, "the old requests are dropped", func() bool { return f.Status()[0].Dropped == 2 })
	b.serve(b.write)
	eventually(t, "the queue drains", func() bool { return f.Status()[0].BacklogRequests == 0 })
	st := f.Status()[0]
	if st.Dropped != 2 || st.DroppedSamples != 8 || st.Sent != 1 {
		t.Fatalf("status = %+v, want 2 requests (8 samples) dropped and 1 sent", st)
	}
	got := dump(t, b.head)
	if len(got) != 1 || len(got[`{__name__="new", series="0"}`]) != 4 {
		t.Fatalf("the peer holds %v, want only the 4 new samples", got)
	}
}

func TestForwarderStatusAndMetrics(t *testing.T) {
	a, b := newRegion(t), newRegion(t)
	reg := prometheus.NewRegistry()
	f := a.forwardTo(t, replication.ForwarderOptions{Registerer: reg}, b)
	post(t, a, rw1("m", 2, 0, 3), false)
	eventually(t, "the request is sent", func() bool { return f.Status()[0].Sent == 1 })
	rec := httptest.NewRecorder()
	f.StatusHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/status/replication", nil))
	body := rec.Body.String()
	for _, want := range []string{`"status":"success"`, `"name":"peer-0"`, `"state":"ok"`, `"sent":1`, `"lagSeconds":0`, `"backlogBytes":0`, `"url":"` + b.url()} {
		if !strings.Contains(body, want) {
			t.Fatalf("status answer %s lacks %s", body, want)
		}
	}
	if got := testutil.ToFloat64(gatherOne(t, reg, "gorilla_replication_region_sent_samples_total")); got != 6 {
		t.Fatalf("gorilla_replication_region_sent_samples_total = %v, want 6", got)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 13 {
		t.Fatalf("%d metrics gathered (%v), want 13 for one region", n, err)
	}
}

// gatherOne returns a collector of the one metric name of reg.
func gatherOne(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			v := mf.GetMetric()[0].GetCounter().GetValue()
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})
			c.Add(v)
			return c
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func TestForwarderRefusesWhatItCannotQueue(t *testing.T) {
	a, b := newRegion(t), newRegion(t)
	f := a.forwardTo(t, replication.ForwarderOptions{}, b)
	// A queue that cannot write: closed under the handler.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if code := post(t, a, rw1("m", 1, 0, 3), false); code != http.StatusServiceUnavailable {
		t.Fatalf("write with a queue that cannot write answered %d, want 503", code)
	}
	if code := post(t, a, rw1("m", 1, 0, 3), false, replication.ReplicatedFromHeader, "b"); code != http.StatusNoContent {
		t.Fatalf("forwarded write (never queued) answered %d, want 204", code)
	}
}

func TestForwarderRejectsBadRegions(t *testing.T) {
	for _, rs := range [][]replication.RegionOptions{
		{{Name: "a", URL: "http://x"}},                               // this region
		{{Name: "b", URL: "http://x"}, {Name: "b", URL: "http://y"}}, // twice
		{{Name: "../b", URL: "http://x"}},                            // not a plain name
		{{Name: "b"}},                                                // no url
	} {
		if _, err := replication.NewForwarder(replication.ForwarderOptions{Region: "a", Dir: t.TempDir(), Regions: rs}); err == nil {
			t.Fatalf("NewForwarder accepted regions %+v", rs)
		}
	}
}
