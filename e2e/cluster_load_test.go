//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// loadMetric is the metric name of every series the cluster load writes.
const loadMetric = "cluster_e2e_samples"

// loadPlan describes a remote-write 1.0 load: series [0, series) get one
// sample per round, at t0 + round*step. A request carries one round of
// perReq consecutive series (a group); sender k sends the groups g with
// g % senders == k round after round, so every series is written in time
// order by one sender.
type loadPlan struct {
	run     string // value of the run label, unique per test
	series  int
	rounds  int
	perReq  int
	senders int
	t0      int64         // ms
	step    int64         // ms
	pace    time.Duration // least time between a sender's rounds; 0: no pause
}

func (p loadPlan) groups() int { return (p.series + p.perReq - 1) / p.perReq }

// end is the timestamp of the last round.
func (p loadPlan) end() int64 { return p.t0 + int64(p.rounds-1)*p.step }

// labels returns the label set of series s.
func (p loadPlan) labels(s int) labels.Labels {
	return labels.FromStrings(labels.MetricName, loadMetric, "run", p.run, "series", strconv.Itoa(s))
}

// value is the sample of series s in round r: 64 pseudo-random bits,
// never NaN or an infinity (the exponent is never all ones), so that any
// changed bit shows.
func (p loadPlan) value(s, r int) float64 {
	x := uint64(s)<<32 ^ uint64(r) ^ 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	if x>>52&0x7ff == 0x7ff {
		x &^= 1 << 62
	}
	return math.Float64frombits(x)
}

// body encodes round r of group g as a snappy remote-write 1.0 body.
func (p loadPlan) body(g, r int) []byte {
	var wr prompb.WriteRequest
	for s := g * p.perReq; s < min((g+1)*p.perReq, p.series); s++ {
		ts := prompb.TimeSeries{Samples: []prompb.Sample{{Timestamp: p.t0 + int64(r)*p.step, Value: p.value(s, r)}}}
		p.labels(s).Range(func(l labels.Label) { ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
		wr.Timeseries = append(wr.Timeseries, ts)
	}
	raw, err := wr.Marshal()
	if err != nil {
		panic("BUG: marshal a write request: " + err.Error())
	}
	return snappy.Encode(nil, raw)
}

// Outcomes of one request of the load.
const (
	notSent uint32 = iota
	acked          // a 2xx answer
	failed         // sent, but no answer or not 2xx
)

// reqRecord is what happened to one request.
type reqRecord struct {
	group, round int
	node         string
	start, end   time.Time
	code         int // 0: no answer
	msg          string
}

// loadGen sends a loadPlan and records the outcome of every request.
type loadGen struct {
	plan    loadPlan
	targets atomic.Pointer[[]*clusterNode] // where requests go, in turn
	next    atomic.Uint64
	state   []atomic.Uint32 // outcome of group g in round r at g*rounds+r
	done    atomic.Int64    // requests answered or given up

	mu      sync.Mutex // guards records
	records []reqRecord

	cancel context.CancelFunc
	wg     sync.WaitGroup
	began  time.Time
	ended  time.Time
}

// newLoad returns a load of plan that sends to targets in turn.
func newLoad(plan loadPlan, targets ...*clusterNode) *loadGen {
	g := &loadGen{plan: plan, state: make([]atomic.Uint32, plan.groups()*plan.rounds)}
	g.setTargets(targets...)
	return g
}

// setTargets changes where the next requests go.
func (g *loadGen) setTargets(targets ...*clusterNode) {
	ts := slices.Clone(targets)
	g.targets.Store(&ts)
}

// total is the number of requests of the whole plan.
func (g *loadGen) total() int64 { return int64(len(g.state)) }

// start begins sending in the background; wait ends it.
func (g *loadGen) start() {
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.began = time.Now()
	for k := range g.plan.senders {
		g.wg.Go(func() { g.send(ctx, k) })
	}
}

// wait waits until every request was sent and answered.
func (g *loadGen) wait() {
	g.wg.Wait()
	g.cancel()
	g.ended = time.Now()
}

// run sends the whole plan and waits for it.
func (g *loadGen) run() {
	g.start()
	g.wait()
}

// waitProgress blocks until the fraction f of the requests is done, or
// the load ended.
func (g *loadGen) waitProgress(f float64) {
	for float64(g.done.Load()) < f*float64(g.total()) {
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *loadGen) send(ctx context.Context, k int) {
	p := g.plan
	for r := range p.rounds {
		if p.pace > 0 {
			if d := time.Until(g.began.Add(time.Duration(r) * p.pace)); d > 0 {
				time.Sleep(d)
			}
		}
		for grp := k; grp < p.groups(); grp += p.senders {
			if ctx.Err() != nil {
				return
			}
			g.post(ctx, grp, r)
		}
	}
}

// post sends one request to the next target and records its outcome.
func (g *loadGen) post(ctx context.Context, grp, r int) {
	targets := *g.targets.Load()
	n := targets[int(g.next.Add(1)-1)%len(targets)]
	rec := reqRecord{group: grp, round: r, node: n.name, start: time.Now()}
	g.state[grp*g.plan.rounds+r].Store(failed)
	rec.code, rec.msg = postNoFail(ctx, n.client, n.base()+"/api/v1/write", g.plan.body(grp, r))
	rec.end = time.Now()
	if rec.code/100 == 2 {
		g.state[grp*g.plan.rounds+r].Store(acked)
	}
	g.mu.Lock()
	g.records = append(g.records, rec)
	g.mu.Unlock()
	g.done.Add(1)
}

// postNoFail sends one remote-write 1.0 body and returns the status code
// (0 when no answer came) and the answer or the error.
func postNoFail(ctx context.Context, c *http.Client, url string, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(msg)
}

// outcome returns what happened to series s in round r.
func (g *loadGen) outcome(s, r int) uint32 {
	return g.state[(s/g.plan.perReq)*g.plan.rounds+r].Load()
}

// snapshot returns a copy of the records so far.
func (g *loadGen) snapshot() []reqRecord {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.records)
}

// ackedSamples counts the samples of acknowledged requests.
func (g *loadGen) ackedSamples() int { return g.samplesWith(acked) }

// samplesWith counts the samples whose request had one of the outcomes.
func (g *loadGen) samplesWith(outcomes ...uint32) int {
	n := 0
	for s := range g.plan.series {
		for r := range g.plan.rounds {
			if slices.Contains(outcomes, g.outcome(s, r)) {
				n++
			}
		}
	}
	return n
}

// report logs the load's figures: requests, acknowledged samples, write
// throughput and latency percentiles, and the first failures.
func (g *loadGen) report(t *testing.T, what string) {
	t.Helper()
	recs := g.snapshot()
	var lat []time.Duration
	failures := map[string]int{}
	ok := 0
	for _, r := range recs {
		lat = append(lat, r.end.Sub(r.start))
		if r.code/100 == 2 {
			ok++
			continue
		}
		key := fmt.Sprintf("%d %.120s", r.code, r.msg)
		failures[key]++
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	elapsed := g.ended.Sub(g.began)
	samples := g.ackedSamples()
	t.Logf("%s: %d requests, %d acknowledged, %d acknowledged samples in %v (%.0f samples/s); latency p50 %v p99 %v max %v",
		what, len(recs), ok, samples, elapsed.Round(time.Millisecond), float64(samples)/elapsed.Seconds(),
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	shown := 0
	for msg, n := range failures {
		if shown++; shown > 5 {
			break
		}
		t.Logf("%s: %d× failure %s", what, n, msg)
	}
}
