//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gorilla-remote/gorilla-remote/internal/tlstest"
)

// The region tests run real servers on loopback, each its own region,
// forwarding to the others through replication.regions. Outages are
// seconds long, not minutes: what a longer one changes is only how much
// the queue holds, which the backlog tests cover by volume.

// regionNode is one region: a server, its storage and config file.
type regionNode struct {
	name    string
	port    int
	storage string
	config  string
	extra   []string
	scheme  string
	client  *http.Client
	p       *process
}

// peer is a region another region forwards to, with the extra YAML of its
// entry in replication.regions (indented for a list item's keys).
type peer struct {
	node  *regionNode
	extra string
}

func newRegionNode(t *testing.T, name string) *regionNode {
	return &regionNode{name: name, port: freePort(t), storage: t.TempDir(), scheme: "http", client: newHTTPClient(t)}
}

func (n *regionNode) base() string { return fmt.Sprintf("%s://127.0.0.1:%d", n.scheme, n.port) }

// forwardTo writes n's config file: this region's name and its peers.
func (n *regionNode) forwardTo(t *testing.T, peers ...peer) {
	var b strings.Builder
	fmt.Fprintf(&b, "replication:\n  region: %s\n  regions:\n", n.name)
	for _, p := range peers {
		fmt.Fprintf(&b, "    - name: %s\n      url: %s/api/v1/write\n      max_backoff: 200ms\n%s", p.node.name, p.node.base(), p.extra)
	}
	n.config = writeFile(t, n.name+".yml", b.String())
}

// start starts n's server and waits until it is ready.
func (n *regionNode) start(t *testing.T) {
	t.Helper()
	args := append([]string{fmt.Sprintf("--web.listen-address=127.0.0.1:%d", n.port), "--storage.path=" + n.storage}, n.extra...)
	if n.config != "" {
		args = append(args, "--config.file="+n.config)
	}
	n.p = startProcess(t, "gorilla-remote-"+n.name, buildServer(t), args...)
	n.p.waitOK(t, n.client, n.base()+"/-/ready", 60*time.Second)
}

// regionBody is round r of metric name: one remote-write 1.0 request of
// the given number of series, one sample each at base+r seconds, every
// 13th a stale marker so that bit-exactness is tested.
func regionBody(name string, series int, base int64, r int) []byte {
	req := &prompb.WriteRequest{}
	for i := range series {
		v := float64(i)*0.25 + float64(r)/7
		if (i+r)%13 == 0 {
			v = math.Float64frombits(0x7ff0000000000002)
		}
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "series", Value: fmt.Sprint(i)}},
			Samples: []prompb.Sample{{Timestamp: base + int64(r)*1000, Value: v}},
		})
	}
	raw, err := req.Marshal()
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return snappy.Encode(nil, raw)
}

// writeRounds sends rounds from..to-1 of name to n and requires 204 for
// each.
func writeRounds(t *testing.T, n *regionNode, name string, series int, base int64, from, to int) {
	t.Helper()
	for r := from; r < to; r++ {
		code, msg := postWrite(t, n.client, n.base()+"/api/v1/write", regionBody(name, series, base, r))
		require.Equal(t, http.StatusNoContent, code, "round %d of %s to %s: %s", r, name, n.name, msg)
	}
}

// readRegion returns every series of the metrics matching re that n
// holds, over remote read.
func readRegion(t *testing.T, n *regionNode, re string) seriesSet {
	t.Helper()
	m := &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: "__name__", Value: re}
	return remoteRead(t, n.client, n.base()+"/api/v1/read", prompb.ReadRequest_SAMPLES, 0, math.MaxInt64/2, m)
}

// sameSeries reports whether a and b hold the same series with the same
// samples, values bit for bit.
func sameSeries(a, b seriesSet) bool {
	if len(a) != len(b) {
		return false
	}
	for k, s := range a {
		o := b[k]
		if o == nil || len(o.samples) != len(s.samples) {
			return false
		}
		for i, smp := range s.samples {
			if smp.t != o.samples[i].t || math.Float64bits(smp.v) != math.Float64bits(o.samples[i].v) {
				return false
			}
		}
	}
	return true
}

// requireConverged waits until to holds exactly what from holds of the
// metrics matching re, and that it is want samples.
func requireConverged(t *testing.T, from, to *regionNode, re string, want int) {
	t.Helper()
	var a, b seriesSet
	err := poll(60*time.Second, 100*time.Millisecond, func() bool {
		a, b = readRegion(t, from, re), readRegion(t, to, re)
		return a.samples() == want && sameSeries(a, b)
	})
	require.NoError(t, err, "%s holds %d series, %d samples of %s; %s holds %d series, %d samples; want %d samples in both, bit for bit",
		from.name, len(a), a.samples(), re, to.name, len(b), b.samples(), want)
}

// regionState is one region of GET /api/v1/status/replication.
type regionState struct {
	Name            string  `json:"name"`
	State           string  `json:"state"`
	LagSeconds      float64 `json:"lagSeconds"`
	BacklogRequests int64   `json:"backlogRequests"`
	BacklogBytes    int64   `json:"backlogBytes"`
	Sent            int64   `json:"sent"`
	Retried         int64   `json:"retried"`
	Failed          int64   `json:"failed"`
	Dropped         int64   `json:"dropped"`
}

// status returns n's status of its only peer region.
func regionStatus(t *testing.T, n *regionNode) regionState {
	t.Helper()
	resp, err := n.client.Get(n.base() + "/api/v1/status/replication")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Status string        `json:"status"`
		Data   []regionState `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Len(t, body.Data, 1)
	return body.Data[0]
}

func waitRegionStatus(t *testing.T, n *regionNode, what string, cond func(regionState) bool) regionState {
	t.Helper()
	var st regionState
	err := poll(60*time.Second, 50*time.Millisecond, func() bool { st = regionStatus(t, n); return cond(st) })
	require.NoError(t, err, "%s: %s; status %+v", n.name, what, st)
	return st
}

func TestRegionForwardConverges(t *testing.T) {
	a, b := newRegionNode(t, "eu-west"), newRegionNode(t, "us-east")
	a.forwardTo(t, peer{node: b})
	b.start(t)
	a.start(t)
	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	writeRounds(t, a, "region_load", 50, base, 0, 200)
	requireConverged(t, a, b, "region_.+", 50*200)
	st := waitRegionStatus(t, a, "the queue drains", func(st regionState) bool { return st.BacklogRequests == 0 })
	require.Equal(t, int64(200), st.Sent)
	require.Equal(t, "ok", st.State)
	sent, ok := metricSum(t, a.client, a.base()+"/metrics", "gorilla_replication_region_sent_samples_total", `region="us-east"`)
	require.True(t, ok)
	require.Equal(t, float64(50*200), sent)
}

// TestRegionPeerKilledUnderLoad kills B with SIGKILL while A takes writes
// and keeps it down for a while: A answers every write 204 throughout,
// and after B restarts it converges to A, each sample once.
func TestRegionPeerKilledUnderLoad(t *testing.T) {
	a, b := newRegionNode(t, "eu-west"), newRegionNode(t, "us-east")
	a.forwardTo(t, peer{node: b})
	b.start(t)
	a.start(t)
	base := time.Now().Add(-50 * time.Minute).UnixMilli() // a round a second, at most 50 minutes of them
	var rounds atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loadErr atomic.Pointer[string]
	wg.Go(func() {
		for r := 0; ; r++ {
			select {
			case <-stop:
				return
			default:
			}
			code, msg := postWriteOnce(a.client, a.base()+"/api/v1/write", regionBody("region_load", 40, base, r))
			if code != http.StatusNoContent {
				s := fmt.Sprintf("round %d answered %d: %s", r, code, msg)
				loadErr.Store(&s)
				return
			}
			rounds.Store(int64(r + 1))
			time.Sleep(20 * time.Millisecond)
		}
	})
	require.NoError(t, poll(30*time.Second, 10*time.Millisecond, func() bool { return rounds.Load() > 50 }))
	b.p.kill()
	waitRegionStatus(t, a, "us-east is seen down", func(st regionState) bool { return st.State == "down" })
	downAt := rounds.Load()
	time.Sleep(15 * time.Second) // the outage, under load
	require.Greater(t, rounds.Load(), downAt+100, "A kept taking writes while B was down")
	b.start(t)
	time.Sleep(time.Second) // load on both sides of the restart
	close(stop)
	wg.Wait()
	if msg := loadErr.Load(); msg != nil {
		t.Fatalf("A refused a write during the outage: %s", *msg)
	}
	requireConverged(t, a, b, "region_.+", 40*int(rounds.Load()))
	st := waitRegionStatus(t, a, "the queue drains", func(st regionState) bool { return st.BacklogRequests == 0 })
	require.Zero(t, st.Dropped)
	require.NotZero(t, st.Retried)
}

// postWriteOnce is postWrite for a goroutine that is not the test's.
func postWriteOnce(c *http.Client, url string, body []byte) (int, string) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
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
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	return resp.StatusCode, string(buf[:n])
}

// TestRegionBacklogSurvivesKill9 fills A's queue while B is not running,
// kills A with SIGKILL, starts B and A again: the queue is intact and
// drains, every sample A acknowledged reaches B.
func TestRegionBacklogSurvivesKill9(t *testing.T) {
	a, b := newRegionNode(t, "eu-west"), newRegionNode(t, "us-east")
	a.forwardTo(t, peer{node: b})
	a.start(t)
	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	writeRounds(t, a, "region_load", 30, base, 0, 300)
	waitRegionStatus(t, a, "the backlog holds every write", func(st regionState) bool { return st.BacklogRequests == 300 })
	a.p.kill()
	b.start(t)
	a.start(t)
	requireConverged(t, a, b, "region_.+", 30*300)
	st := waitRegionStatus(t, a, "the queue drains", func(st regionState) bool { return st.BacklogRequests == 0 })
	require.Equal(t, int64(300), st.Sent, "everything queued before the kill is sent after the restart")
	require.Zero(t, st.Dropped)
}

// TestRegionMutual has A and B forward to each other: each write is
// forwarded once, never back, and both converge.
func TestRegionMutual(t *testing.T) {
	a, b := newRegionNode(t, "eu-west"), newRegionNode(t, "us-east")
	a.forwardTo(t, peer{node: b})
	b.forwardTo(t, peer{node: a})
	a.start(t)
	b.start(t)
	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	writeRounds(t, a, "region_a", 20, base, 0, 50)
	writeRounds(t, b, "region_b", 20, base, 0, 50)
	requireConverged(t, a, b, "region_.+", 2*20*50)
	requireConverged(t, b, a, "region_.+", 2*20*50)
	time.Sleep(time.Second) // room for a forwarding loop to show
	for _, n := range []*regionNode{a, b} {
		st := waitRegionStatus(t, n, "the queue drains", func(st regionState) bool { return st.BacklogRequests == 0 })
		require.Equal(t, int64(50), st.Sent, "%s forwarded its own 50 writes and nothing it received", n.name)
	}
}

// TestRegionMaxLagDrops keeps B down past max_lag while A takes a large
// backlog: the old writes are dropped and counted, A's heap does not grow
// with the backlog, and the writes after the drop all reach B. The
// backlog is made of the same rounds sent again, which the head accepts
// as no-ops, so that what grows is the queue alone.
func TestRegionMaxLagDrops(t *testing.T) {
	a, b := newRegionNode(t, "eu-west"), newRegionNode(t, "us-east")
	a.forwardTo(t, peer{node: b, extra: "      max_lag: 10s\n"})
	a.start(t)
	base := time.Now().Add(-30 * time.Minute).UnixMilli()
	const series, rounds, repeats = 5000, 5, 200
	writeRounds(t, a, "region_old", series, base, 0, rounds)
	heap := func() float64 {
		v, ok := metricSum(t, a.client, a.base()+"/metrics", "go_memstats_heap_inuse_bytes", "")
		require.True(t, ok)
		return v
	}
	before := heap()
	for range repeats {
		writeRounds(t, a, "region_old", series, base, 0, rounds)
	}
	st := regionStatus(t, a)
	after := heap()
	t.Logf("backlog %d requests, %.1f MiB; heap in use %.1f MiB before, %.1f MiB after",
		st.BacklogRequests, float64(st.BacklogBytes)/(1<<20), before/(1<<20), after/(1<<20))
	require.Less(t, after-before, float64(st.BacklogBytes)/2, "the heap grew with the backlog")

	total := int64(rounds * (repeats + 1))
	st = waitRegionStatus(t, a, "every old write is dropped", func(st regionState) bool { return st.Dropped == total })
	require.Zero(t, st.BacklogRequests)
	dropped, ok := metricSum(t, a.client, a.base()+"/metrics", "gorilla_replication_region_dropped_samples_total", `region="us-east"`)
	require.True(t, ok)
	require.Equal(t, float64(series*total), dropped)

	b.start(t)
	writeRounds(t, a, "region_new", 30, base, 0, 40)
	requireConverged(t, a, b, "region_new", 30*40)
	require.Empty(t, readRegion(t, b, "region_old"), "dropped writes reached the peer")
	st = waitRegionStatus(t, a, "the queue drains", func(st regionState) bool { return st.BacklogRequests == 0 })
	require.Equal(t, int64(40), st.Sent)
}

// TestRegionTLSBasicAuth forwards to a region that requires TLS and basic
// auth, with the client options of replication.regions.
func TestRegionTLSBasicAuth(t *testing.T) {
	dir := t.TempDir()
	files, err := tlstest.Write(dir)
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte(e2ePassword), bcrypt.DefaultCost)
	require.NoError(t, err)
	webConfig := writeFile(t, "web.yml", fmt.Sprintf(
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: '%s'\n",
		files.CertFile, files.KeyFile, e2eUser, hash))
	password := writeFile(t, "password", e2ePassword)

	a, b := newRegionNode(t, "eu-west"), newRegionNode(t, "us-east")
	b.scheme, b.client = "https", authClient(t, files.Pool, e2eUser, e2ePassword)
	b.extra = []string{"--web.config.file=" + webConfig}
	a.forwardTo(t, peer{node: b, extra: fmt.Sprintf(
		"      basic_auth: {username: %s, password_file: %s}\n      tls_config: {ca_file: %s}\n", e2eUser, password, files.CAFile)})
	b.start(t)
	a.start(t)
	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	writeRounds(t, a, "region_load", 20, base, 0, 50)
	requireConverged(t, a, b, "region_.+", 20*50)
	st := waitRegionStatus(t, a, "the queue drains", func(st regionState) bool { return st.BacklogRequests == 0 })
	require.Equal(t, int64(50), st.Sent)
	require.Zero(t, st.Failed)

	// Without the account the same region refuses the writes (401): the
	// forwarder counts them as failed and drops them, as a sender does.
	c := newRegionNode(t, "ap-south")
	c.forwardTo(t, peer{node: b, extra: fmt.Sprintf("      tls_config: {ca_file: %s}\n", files.CAFile)})
	c.start(t)
	writeRounds(t, c, "region_c", 5, base, 0, 3)
	st = waitRegionStatus(t, c, "the refused writes are counted", func(st regionState) bool { return st.Failed == 3 })
	require.Zero(t, st.Sent)
}
