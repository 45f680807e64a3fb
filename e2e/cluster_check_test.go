//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// readStats sums up one read of a load back from a node.
type readStats struct {
	stored, acked, unacked int // samples read; acknowledged ones among them; the others
}

// requireLoad reads the load back through every node, over remote read in
// both response types and through PromQL, and requires of every answer:
// each acknowledged sample present bit for bit, nothing that was never
// sent, no sample twice.
func requireLoad(t *testing.T, g *loadGen, nodes []*clusterNode) {
	t.Helper()
	for _, n := range nodes {
		for _, typ := range []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS} {
			got := remoteRead(t, n.client, n.base()+"/api/v1/read", typ, g.plan.t0, g.plan.end(), g.matcher())
			st := g.check(t, got, fmt.Sprintf("remote read %v through %s", typ, n.name))
			t.Logf("%s, %v: %d samples stored, %d of them acknowledged, %d sent without acknowledgement", n.name, typ, st.stored, st.acked, st.unacked)
		}
		g.requirePromQL(t, n)
	}
}

// matcher selects the load's series.
func (g *loadGen) matcher() *prompb.LabelMatcher {
	return &prompb.LabelMatcher{Type: prompb.LabelMatcher_EQ, Name: "run", Value: g.plan.run}
}

// check compares what a read returned with what was sent and acknowledged.
// remoteRead has already required every series' samples strictly in time
// order, so a sample returned twice fails there.
func (g *loadGen) check(t *testing.T, got seriesSet, what string) readStats {
	t.Helper()
	p := g.plan
	var st readStats
	present := make([]bool, p.series*p.rounds)
	for key, s := range got {
		id, err := strconv.Atoi(s.lset.Get("series"))
		if err != nil || id < 0 || id >= p.series || s.lset.Hash() != p.labels(id).Hash() {
			t.Fatalf("%s: series %s was never sent", what, key)
		}
		for _, smp := range s.samples {
			r := int((smp.t - p.t0) / p.step)
			if (smp.t-p.t0)%p.step != 0 || r < 0 || r >= p.rounds || g.outcome(id, r) == notSent {
				t.Fatalf("%s: series %s: sample at %d was never sent", what, key, smp.t)
			}
			if want := p.value(id, r); math.Float64bits(want) != math.Float64bits(smp.v) {
				t.Fatalf("%s: series %s round %d: got %v (%#x), want %v (%#x)", what, key, r, smp.v, math.Float64bits(smp.v), want, math.Float64bits(want))
			}
			present[id*p.rounds+r] = true
			st.stored++
			if g.outcome(id, r) == acked {
				st.acked++
			} else {
				st.unacked++
			}
		}
	}
	missing, first := 0, ""
	for s := range p.series {
		for r := range p.rounds {
			if g.outcome(s, r) == acked && !present[s*p.rounds+r] {
				if missing == 0 {
					first = fmt.Sprintf("series %d round %d (t=%d)", s, r, p.t0+int64(r)*p.step)
				}
				missing++
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%s: %d acknowledged samples missing of %d, the first %s", what, missing, g.ackedSamples(), first)
	}
	return st
}

// requirePromQL counts the load's samples through n's PromQL API, which
// must be at least the acknowledged ones and at most those sent, and reads
// three series raw and compares them bit for bit with what was sent. (A
// sample sent but not acknowledged may be on one replica only: a read
// from a read quorum may or may not find it, so two reads may differ.)
func (g *loadGen) requirePromQL(t *testing.T, n *clusterNode) {
	t.Helper()
	p := g.plan
	api := promAPI{base: n.base(), c: n.client}
	span := fmt.Sprintf("[%dms]", p.end()-p.t0+1)
	q := fmt.Sprintf(`sum(count_over_time(%s{run=%q}%s))`, loadMetric, p.run, span)
	_, res := api.query(t, q, p.end())
	require.Len(t, res, 1, "%s through %s", q, n.name)
	require.NotNil(t, res[0].Value, "%s through %s", q, n.name)
	count, err := strconv.Atoi(res[0].Value.V)
	require.NoError(t, err, "%s through %s", q, n.name)
	if nAcked, nSent := g.samplesWith(acked), g.samplesWith(acked, failed); count < nAcked || count > nSent {
		t.Fatalf("%s through %s: %d samples, want between the %d acknowledged and the %d sent", q, n.name, count, nAcked, nSent)
	}
	for _, s := range []int{0, p.series / 2, p.series - 1} {
		sel := selector(p.labels(s)) + span
		typ, res := api.query(t, sel, p.end())
		require.Equal(t, "matrix", typ, sel)
		require.Len(t, res, 1, "%s through %s", sel, n.name)
		prev := int64(math.MinInt64)
		for _, pt := range res[0].Values {
			ms, err := pt.millis()
			require.NoError(t, err)
			require.Greater(t, ms, prev, "%s through %s: samples in time order, none twice", sel, n.name)
			prev = ms
			r := int((ms - p.t0) / p.step)
			require.True(t, r >= 0 && r < p.rounds && (ms-p.t0)%p.step == 0, "%s through %s: sample at %d was never sent", sel, n.name, ms)
			v, err := strconv.ParseFloat(pt.V, 64)
			require.NoError(t, err)
			want := p.value(s, r)
			require.Equal(t, math.Float64bits(want), math.Float64bits(v), "%s through %s: round %d: got %s, want %v", sel, n.name, r, pt.V, want)
		}
		nAcked := 0
		for r := range p.rounds {
			if g.outcome(s, r) == acked {
				nAcked++
			}
		}
		require.GreaterOrEqual(t, len(res[0].Values), nAcked, "%s through %s: samples against acknowledged ones", sel, n.name)
	}
}

// prober queries a set of nodes in turn while a fault runs and records
// every query that failed.
type prober struct {
	query string
	nodes []*clusterNode
	stop  chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	queries  int
	failures []string
}

// startProber runs the instant query q against nodes, one after another,
// until stopAndRequire.
func startProber(q string, nodes ...*clusterNode) *prober {
	p := &prober{query: q, nodes: nodes, stop: make(chan struct{})}
	p.wg.Go(p.loop)
	return p
}

func (p *prober) loop() {
	for i := 0; ; i++ {
		select {
		case <-p.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		n := p.nodes[i%len(p.nodes)]
		err := queryOnce(n, p.query)
		p.mu.Lock()
		p.queries++
		if err != nil {
			p.failures = append(p.failures, fmt.Sprintf("%s at %s: %v", n.name, time.Now().Format(time.StampMilli), err))
		}
		p.mu.Unlock()
	}
}

// stopAndRequire ends the prober and fails the test if a query failed.
func (p *prober) stopAndRequire(t *testing.T) {
	t.Helper()
	close(p.stop)
	p.wg.Wait()
	t.Logf("%d queries %q through %s during the fault", p.queries, p.query, names(p.nodes))
	require.Empty(t, p.failures, "failed queries")
	require.Positive(t, p.queries)
}

// queryOnce runs an instant query now and returns an error unless it
// answered success.
func queryOnce(n *clusterNode, q string) error {
	resp, err := n.client.Get(n.base() + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || resp.StatusCode != http.StatusOK || env.Status != "success" {
		return fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	return nil
}
