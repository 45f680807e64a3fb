//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// The million-sample test seals its data in 5-minute windows that close
// one minute after they end, and keeps one minute in memory, so that after
// the load its window is sealed by every replica, merged by compaction and
// read back from the bucket.
const (
	millionSeries = 2000
	millionRounds = 500
	windowLen     = 5 * time.Minute
)

// nodeLabel is the external label of meta.json naming the node that
// uploaded a replica block; merged blocks do not have it.
const nodeLabel = "gorilla_node"

// TestClusterMillionSamples writes a million samples through one node of
// three (RF=3) and reads every one back bit for bit through every node,
// over remote read and PromQL. Then it closes the samples' window: each
// node uploads its replica block, compaction leaves one block for the
// window, and every node answers exactly as before, now from the bucket.
func TestClusterMillionSamples(t *testing.T) {
	c := newCluster(t, 3, clusterIPs[:3],
		"--block.duration="+windowLen.String(), "--storage.out-of-order-window=1m", "--head.retention=1m",
		"--block.compaction-interval=2s")
	c.start()
	// All samples in one window that ended minutes ago, 100 ms apart: the
	// whole load spans 50 s, less than the out-of-order window, so no
	// sender can fall behind a window the head already sealed.
	win := windowLen.Milliseconds()
	wstart := (time.Now().Add(-8*time.Minute).UnixMilli() / win) * win
	plan := loadPlan{
		run: "million", series: millionSeries, rounds: millionRounds, perReq: 500, senders: 4,
		t0: wstart + 10_000, step: 100,
	}
	g := newLoad(plan, c.nodes[0])
	g.run()
	g.report(t, "a million samples through node-1")
	requireAllAcked(t, g, "three healthy nodes")
	require.Equal(t, millionSeries*millionRounds, g.ackedSamples())
	requireLoad(t, g, c.nodes)
	before := make([]seriesSet, len(c.nodes))
	for i, n := range c.nodes {
		before[i] = remoteRead(t, n.client, n.base()+"/api/v1/read", prompb.ReadRequest_STREAMED_XOR_CHUNKS, plan.t0, plan.end(), g.matcher())
	}

	// A sample past the window's end and its out-of-order window, on every
	// replica, closes the window.
	closeAt := wstart + win + time.Minute.Milliseconds() + 1000
	code, msg := postNoFail(t.Context(), c.nodes[0].client, c.nodes[0].base()+"/api/v1/write",
		encodeWrite(prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: "cluster_e2e_closer"}},
			Samples: []prompb.Sample{{Timestamp: closeAt, Value: 1}},
		}}}))
	require.Equal(t, 2, code/100, "closing sample: %d %s", code, msg)
	replicas := c.waitCompacted(wstart, wstart+win)
	t.Logf("replica blocks seen for the window: %v", replicas)
	for _, n := range c.nodes {
		waitReleased(t, n.client, n.base(), plan.end())
	}
	requireLoad(t, g, c.nodes)
	for i, n := range c.nodes {
		after := remoteRead(t, n.client, n.base()+"/api/v1/read", prompb.ReadRequest_STREAMED_XOR_CHUNKS, plan.t0, plan.end(), g.matcher())
		requireSameSeries(t, before[i], after, fmt.Sprintf("%s: before and after compaction", n.name))
	}
}

// waitCompacted waits until the window [mint, maxt) has exactly one raw
// block in the bucket and it is no node's replica (it has no
// gorilla_node label), and returns the nodes whose replica blocks of the
// window were seen on the way.
func (c *testCluster) waitCompacted(mint, maxt int64) []string {
	c.t.Helper()
	seen := map[string]bool{}
	var last []string
	err := poll(5*time.Minute, 250*time.Millisecond, func() bool {
		last = last[:0]
		var merged, window int
		for _, m := range c.rawBlocks() {
			if !m.Overlaps(mint, maxt-1) {
				continue
			}
			window++
			node, ok := m.Thanos.Labels[nodeLabel]
			last = append(last, fmt.Sprintf("%s %v", m.ULID, m.Thanos.Labels))
			if ok {
				seen[node] = true
			} else {
				merged++
			}
		}
		return window == 1 && merged == 1
	})
	require.NoError(c.t, err, "window [%d, %d) never ended as one merged block; its blocks: %s", mint, maxt, strings.Join(last, "; "))
	var nodes []string
	for n := range seen {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	return nodes
}

// waitReleased waits until the head of the node at base holds nothing at
// or before t: queries over it answer from the bucket.
func waitReleased(t *testing.T, c *http.Client, base string, t1 int64) {
	t.Helper()
	var minT int64
	err := poll(2*time.Minute, 250*time.Millisecond, func() bool {
		minT = headMinTime(t, c, base)
		return minT > t1
	})
	require.NoError(t, err, "%s: head still holds samples from %d, want none at or before %d", base, minT, t1)
}
