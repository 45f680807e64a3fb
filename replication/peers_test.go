package replication_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/replication"
	"github.com/gorilla-remote/gorilla-remote/ring"
)

// newPeers returns the peer queryable of node n, giving each peer
// timeout to answer.
func newPeers(t *testing.T, n *testNode, timeout time.Duration) *replication.PeerQueryable {
	t.Helper()
	pq, err := replication.NewPeerQueryable(replication.PeerOptions{
		Ring:              n.ring,
		Client:            &http.Client{},
		Timeout:           timeout,
		ReplicationFactor: 3,
	})
	if err != nil {
		t.Fatalf("NewPeerQueryable: %v", err)
	}
	return pq
}

// spread writes 30 series to two replicas each (ring owners with rf 2), so
// that any one node may be lost, and returns what was written. Series
// owned by node-1 and node-2 are on both peers of node-0: the peers'
// answers overlap and must be deduplicated.
func spread(t *testing.T, nodes []*testNode) map[string][]sample {
	t.Helper()
	byID := map[string]*testNode{}
	for _, n := range nodes {
		byID[n.id] = n
	}
	want := map[string][]sample{}
	placed := map[string]int{}
	for i := range 30 {
		lset := labels.FromStrings("__name__", "up", "job", fmt.Sprintf("job-%d", i%3), "instance", fmt.Sprintf("i-%02d", i))
		owners, err := nodes[0].ring.Owners(ring.Token("", lset), 2)
		if err != nil || len(owners) != 2 {
			t.Fatalf("Owners(%s) = %v, %v; want two", lset, owners, err)
		}
		var to []*testNode
		for _, o := range owners {
			to = append(to, byID[o.ID])
			placed[o.ID]++
		}
		s := samplesFrom(1_000_000, 20, float64(i*100))
		appendTo(t, to, lset, s)
		want[lset.String()] = s
	}
	for _, n := range nodes {
		if placed[n.id] == 0 {
			t.Fatalf("no series placed on %s (%v): the ring spreads nothing", n.id, placed)
		}
	}
	return want
}

// selectAll selects every "up" series through q over all time.
func selectAll(t *testing.T, q storage.Queryable) (map[string][]sample, error) {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatalf("Querier: %v", err)
	}
	defer qr.Close()
	ss := qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
	got, annos := collect(t, ss)
	return got, unavailable(annos)
}

// clusterQueryable merges a node's local head with its peers, as a node
// answers queries.
type clusterQueryable struct {
	local *query.Queryable
	peers *replication.PeerQueryable
}

func withLocal(n *testNode, pq *replication.PeerQueryable) *clusterQueryable {
	return &clusterQueryable{local: query.New(n.head), peers: pq}
}

func (c *clusterQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	lq, _ := c.local.Querier(mint, maxt)
	pq, _ := c.peers.Querier(mint, maxt)
	return storage.NewMergeQuerier([]storage.Querier{lq}, []storage.Querier{pq}, storage.ChainedSeriesMerge), nil
}

func (c *clusterQueryable) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	lq, _ := c.local.ChunkQuerier(mint, maxt)
	pq, _ := c.peers.ChunkQuerier(mint, maxt)
	return storage.NewMergeChunkQuerier([]storage.ChunkQuerier{lq}, []storage.ChunkQuerier{pq}, storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge)), nil
}

// remoteRead posts a streamed remote read of every "up" series to a
// handler over q and returns the status and body.
func remoteRead(t *testing.T, q storage.SampleAndChunkQueryable) (int, string) {
	t.Helper()
	h, err := remote.NewReadHandler(q, remote.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	req := &prompb.ReadRequest{
		Queries:               []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: math.MaxInt64, Matchers: []*prompb.LabelMatcher{{Name: "__name__", Value: "up"}}}},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(snappy.Encode(nil, raw))))
	return w.Code, w.Body.String()
}

func TestPeerQueryable(t *testing.T) {
	nodes := startReadCluster(t, 3)
	want := spread(t, nodes)
	pq := newPeers(t, nodes[0], 10*time.Second)

	// Every series has a replica on node-1 or node-2: the peers alone
	// answer everything, each sample once.
	got, warn := selectAll(t, pq)
	if warn != nil {
		t.Fatalf("all nodes up: warning %v", warn)
	}
	sameData(t, "peers", got, want)
	got, warn = selectAll(t, withLocal(nodes[0], pq))
	if warn != nil {
		t.Fatalf("all nodes up, with local: warning %v", warn)
	}
	sameData(t, "local and peers", got, want)

	t.Run("duplicates", func(t *testing.T) { checkDuplicates(t, nodes, pq) })
	t.Run("labels", func(t *testing.T) { checkLabels(t, pq) })
	t.Run("chunks", func(t *testing.T) { checkChunks(t, pq, want) })
	t.Run("metadata and exemplars", func(t *testing.T) { checkMetaExemplars(t, nodes, pq) })
	t.Run("native histograms", func(t *testing.T) { checkHistograms(t, nodes, pq) })

	// One node of three down: RF/2 = 1, no warning, and every series
	// still has a replica that answers. A node that does not answer in
	// time counts as down as one that refuses connections.
	nodes[1].hang.Store(true)
	got, warn = selectAll(t, withLocal(nodes[0], newPeers(t, nodes[0], 200*time.Millisecond)))
	if warn != nil {
		t.Fatalf("node-1 hanging: warning %v", warn)
	}
	sameData(t, "node-1 hanging", got, want)
	nodes[2].hang.Store(true)
	_, warn = selectAll(t, withLocal(nodes[0], newPeers(t, nodes[0], 200*time.Millisecond)))
	if !errors.Is(warn, model.ErrUnavailable) {
		t.Fatalf("node-1 and node-2 hanging: warning %v, want one wrapping ErrUnavailable", warn)
	}
	nodes[1].hang.Store(false)
	nodes[2].hang.Store(false)
	nodes[1].srv.Close()
	got, warn = selectAll(t, withLocal(nodes[0], pq))
	if warn != nil {
		t.Fatalf("node-1 down: warning %v", warn)
	}
	sameData(t, "node-1 down", got, want)
	if code, body := remoteRead(t, withLocal(nodes[0], pq)); code != http.StatusOK {
		t.Fatalf("remote read with node-1 down: %d %s, want 200", code, body)
	}

	// Two of three down: an answer with what arrived and a warning.
	nodes[2].srv.Close()
	_, warn = selectAll(t, withLocal(nodes[0], pq))
	var pe *replication.PartialResultError
	if !errors.As(warn, &pe) || !errors.Is(warn, model.ErrUnavailable) {
		t.Fatalf("two nodes down: warning %v, want a *PartialResultError wrapping ErrUnavailable", warn)
	}
	if !slices.Equal(pe.Down, []string{"node-1", "node-2"}) || pe.Total != 3 {
		t.Fatalf("two nodes down: Down %v of %d, want [node-1 node-2] of 3", pe.Down, pe.Total)
	}
	if msg := "partial result: 2 of 3 nodes unreachable (node-1, node-2)"; pe.Error() != msg {
		t.Fatalf("warning %q, want %q", pe.Error(), msg)
	}
	code, body := remoteRead(t, withLocal(nodes[0], pq))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, pe.Error()) {
		t.Fatalf("remote read with two nodes down: %d %q, want 503 with %q", code, body, pe.Error())
	}
	qr, _ := pq.Querier(math.MinInt64, math.MaxInt64)
	names, annos, err := qr.LabelNames(context.Background(), nil)
	if err != nil || len(names) != 0 || unavailable(annos) == nil {
		t.Fatalf("LabelNames with two nodes down = %v, %v, %v; want none, a warning, no error", names, annos, err)
	}
}

// checkLabels checks that label names and values are the sorted union of
// the peers', with and without matchers.
func checkLabels(t *testing.T, pq *replication.PeerQueryable) {
	qr, err := pq.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	ctx := context.Background()
	names, annos, err := qr.LabelNames(ctx, nil)
	if err != nil || len(annos) != 0 {
		t.Fatalf("LabelNames: %v, %v", err, annos)
	}
	if w := []string{"__name__", "instance", "job"}; !slices.Equal(names, w) {
		t.Fatalf("LabelNames = %v, want %v", names, w)
	}
	jobs, _, err := qr.LabelValues(ctx, "job", nil)
	if w := []string{"job-0", "job-1", "job-2"}; err != nil || !slices.Equal(jobs, w) {
		t.Fatalf("LabelValues(job) = %v, %v; want %v", jobs, err, w)
	}
	insts, _, err := qr.LabelValues(ctx, "instance", nil, labels.MustNewMatcher(labels.MatchEqual, "job", "job-1"))
	if w := []string{"i-01", "i-04", "i-07", "i-10", "i-13", "i-16", "i-19", "i-22", "i-25", "i-28"}; err != nil || !slices.Equal(insts, w) {
		t.Fatalf("LabelValues(instance, job=job-1) = %v, %v; want %v", insts, err, w)
	}
	limited, _, err := qr.LabelValues(ctx, "instance", &storage.LabelHints{Limit: 3})
	if w := []string{"i-00", "i-01", "i-02"}; err != nil || !slices.Equal(limited, w) {
		t.Fatalf("LabelValues(instance, limit 3) = %v, %v; want %v", limited, err, w)
	}
}

// checkChunks checks that the chunk querier returns every sample once
// even where the peers' chunks overlap.
func checkChunks(t *testing.T, pq *replication.PeerQueryable, want map[string][]sample) {
	cq, err := pq.ChunkQuerier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer cq.Close()
	cs := cq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", "u."))
	got, annos := collect(t, storage.NewSeriesSetFromChunkSeriesSet(cs))
	if len(annos) != 0 {
		t.Fatalf("chunk querier warnings: %v", annos)
	}
	sameData(t, "chunk querier", got, want)
}

// checkDuplicates checks that a series held by two peers with
// overlapping samples comes back once, each timestamp once, and that a
// time range is honoured. Its labels add no label name or value to those
// checkLabels expects.
func checkDuplicates(t *testing.T, nodes []*testNode, pq *replication.PeerQueryable) {
	lset := labels.FromStrings("__name__", "dup", "job", "job-0", "instance", "i-00")
	all := samplesFrom(0, 30, 0)
	appendTo(t, nodes[1:2], lset, all[:20])
	appendTo(t, nodes[2:3], lset, all[10:])
	name := labels.MustNewMatcher(labels.MatchEqual, "__name__", "dup")

	qr, _ := pq.Querier(math.MinInt64, math.MaxInt64)
	defer qr.Close()
	got, annos := collect(t, qr.Select(context.Background(), false, nil, name))
	if len(annos) != 0 {
		t.Fatalf("warnings %v", annos)
	}
	sameData(t, "overlapping replicas", got, map[string][]sample{lset.String(): all})

	start, end := all[5].t, all[24].t
	qr, _ = pq.Querier(start, end)
	defer qr.Close()
	part, _ := collect(t, qr.Select(context.Background(), false, &storage.SelectHints{Start: start, End: end}, name))
	sameData(t, "range", part, map[string][]sample{lset.String(): all[5:25]})
}

// The cluster's metadata and exemplars stand in for the head's in the
// query API.
var (
	_ promql.Metadata        = (*replication.PeerMetadata)(nil)
	_ promql.ExemplarQuerier = (*replication.PeerExemplars)(nil)
)

// checkMetaExemplars checks that metadata and exemplars are merged from
// the local head and the peers, each exemplar once.
func checkMetaExemplars(t *testing.T, nodes []*testNode, pq *replication.PeerQueryable) {
	lset := labels.FromStrings("__name__", "ex", "job", "job-0", "instance", "i-00")
	shared := model.Exemplar{Labels: labels.FromStrings("trace_id", "shared"), T: 2_000, V: 1.5}
	own := func(n int) model.Exemplar {
		return model.Exemplar{Labels: labels.FromStrings("trace_id", fmt.Sprint("own-", n)), T: int64(1_000 * n), V: 0.25}
	}
	for i, n := range nodes {
		app := n.head.Appender()
		if _, err := app.Append(0, lset, 10_000, 1); err != nil {
			t.Fatal(err)
		}
		for _, e := range []model.Exemplar{shared, own(i + 1)} {
			if _, err := app.AppendExemplar(0, lset, e); err != nil {
				t.Fatalf("%s: append exemplar: %v", n.id, err)
			}
		}
		meta := model.Metadata{Type: "gauge", Help: "Seen by " + n.id + "."}
		if err := app.UpdateMetadata("ex", meta); err != nil {
			t.Fatal(err)
		}
		if err := app.UpdateMetadata(fmt.Sprint("only_on_", n.id), meta); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}

	md := replication.NewPeerMetadata(pq, nodes[0].head).Metadata()
	for _, name := range []string{"ex", "only_on_node-0", "only_on_node-1", "only_on_node-2"} {
		if _, ok := md[name]; !ok {
			t.Fatalf("metadata has no %s: %v", name, md)
		}
	}
	if got, w := md["ex"].Help, "Seen by node-0."; got != w {
		t.Fatalf("metadata of ex: help %q, want the local %q", got, w)
	}

	ex := replication.NewPeerExemplars(pq, nodes[0].head)
	got, err := ex.Exemplars(context.Background(), 0, 100_000, labels.MustNewMatcher(labels.MatchEqual, "__name__", "ex"))
	if err != nil {
		t.Fatalf("Exemplars: %v", err)
	}
	wantEx := []model.Exemplar{own(1), own(2), shared, own(3)} // by time, then value
	if len(got) != 1 || !labels.Equal(got[0].Labels, lset) || fmt.Sprint(got[0].Exemplars) != fmt.Sprint(wantEx) {
		t.Fatalf("Exemplars = %v, want one series %s with %v", got, lset, wantEx)
	}
}

// checkHistograms checks that native histograms held only by the peers'
// heads come back through the peer queryable, each sample once.
func checkHistograms(t *testing.T, nodes []*testNode, pq *replication.PeerQueryable) {
	lset := labels.FromStrings("__name__", "peer_histogram")
	for _, n := range nodes[1:] {
		app := n.head.Appender()
		for ts := int64(1); ts <= 3; ts++ {
			h := &histogram.Histogram{Count: uint64(ts), Sum: float64(ts), ZeroCount: uint64(ts), ZeroThreshold: 0.001}
			if _, err := app.AppendHistogram(0, lset, ts*1000, h, nil); err != nil {
				t.Fatalf("%s: append histogram: %v", n.id, err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	qr, err := pq.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	ss := qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "peer_histogram"))
	var counts []uint64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			if vt != chunkenc.ValHistogram {
				t.Fatalf("value type %v, want a histogram", vt)
			}
			_, h := it.AtHistogram(nil)
			counts = append(counts, h.Count)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(counts, []uint64{1, 2, 3}) {
		t.Fatalf("histogram counts %v, want [1 2 3]", counts)
	}
}
