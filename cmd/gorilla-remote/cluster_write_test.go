package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// startClusterOf starts n servers in cluster mode on 127.0.0.1 with
// replication factor rf, every one joining all, and waits until each sees
// all of them ACTIVE.
func startClusterOf(t *testing.T, n, rf int) []*testServer {
	t.Helper()
	sets := make([]settings, n)
	var join []string
	for i := range sets {
		sets[i] = clusterSettingsFor(t, fmt.Sprintf("node-%d", i))
		join = append(join, sets[i].Cluster.ListenAddress)
	}
	ds := make([]*testServer, n)
	for i := range sets {
		sets[i].Cluster.Join = join
		sets[i].Cluster.ReplicationFactor = rf
		d, err := startTestServer(newServer(sets[i], slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
		require.NoError(t, err)
		ds[i] = d
	}
	for _, d := range ds {
		waitActive(t, d, n)
	}
	return ds
}

// TestClusterReplicatedWrite checks that each window has one compaction
// owner, and the public write path of a cluster:
// a write to one node is stored on every replica (RF=3 of three nodes),
// still acknowledged with one node gone, and refused with 503 and
// Retry-After once too few replicas remain for a write quorum.
func TestClusterReplicatedWrite(t *testing.T) {
	ds := startClusterOf(t, 3, 3)
	stopped := map[int]bool{}
	defer func() {
		for i, d := range ds {
			if !stopped[i] {
				require.NoError(t, d.stop())
			}
		}
	}()
	// Every window of a tenant has one compaction owner among the nodes.
	owners := map[string]int{}
	for w := range int64(60) {
		n := 0
		for _, d := range ds {
			if d.rs.srv.cluster.ownsWindow("anonymous", w*7_200_000) {
				n++
				owners[d.rs.srv.cluster.name()]++
			}
		}
		require.Equal(t, 1, n, "window %d has %d compaction owners", w, n)
	}
	require.Len(t, owners, 3, "the windows' compaction is spread over every node: %v", owners)

	now := time.Now().UnixMilli()
	write := func(d *testServer, name string, ts int64) answer {
		return postWrite(t, d, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "j"}},
			Samples: []prompb.Sample{{Timestamp: ts, Value: 42}},
		}}})
	}
	a := write(ds[0], "replicated", now)
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	// The quorum is two: the third push may land just after the answer.
	for i, d := range ds {
		require.Eventually(t, func() bool { return len(internalReadSeries(t, d, "", "replicated", now)) == 1 },
			10*time.Second, 20*time.Millisecond, "node-%d does not hold the series", i)
		got := internalReadSeries(t, d, "", "replicated", now)
		require.Equal(t, []prompb.Sample{{Timestamp: now, Value: 42}}, got[0].Samples, "node-%d", i)
	}

	// node-2 leaves: two replicas remain, the write quorum of RF=3.
	require.NoError(t, ds[2].stop())
	stopped[2] = true
	waitActive(t, ds[0], 2)
	a = write(ds[1], "after_leave", now)
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	for _, d := range ds[:2] {
		require.Len(t, internalReadSeries(t, d, "", "after_leave", now), 1)
	}

	// node-1 leaves too: one replica cannot make a quorum of two.
	require.NoError(t, ds[1].stop())
	stopped[1] = true
	waitActive(t, ds[0], 1)
	a = write(ds[0], "alone", now)
	require.Equal(t, http.StatusServiceUnavailable, a.code, a.body)
	require.NotEmpty(t, a.retryAfter)
	require.Contains(t, a.body, "quorum")
	require.Empty(t, internalReadSeries(t, ds[0], "", "alone", now), "a refused write stores nothing")
}

// TestClusterReads checks the read side on three nodes with RF=1, where
// every series lives on one node only: any node answers PromQL, the
// series and label endpoints and remote read with the whole cluster's
// data. (Partial answers with nodes down: replication's peer tests and
// the end-to-end cluster tests.)
func TestClusterReads(t *testing.T) {
	ds := startClusterOf(t, 3, 1)
	defer func() {
		for _, d := range ds {
			require.NoError(t, d.stop())
		}
	}()
	now := time.Now().UnixMilli()
	wr := &prompb.WriteRequest{}
	for i := range 60 {
		wr.Timeseries = append(wr.Timeseries, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: "spread"}, {Name: "i", Value: fmt.Sprint(i)}},
			Samples: []prompb.Sample{{Timestamp: now, Value: float64(i)}},
		})
	}
	a := postWrite(t, ds[0], wr)
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	for i, d := range ds {
		held := len(internalReadSeries(t, d, "", "spread", now))
		require.Less(t, held, 60, "node-%d holds every series with RF=1", i)
		q := get(t, d, fmt.Sprintf("/api/v1/query?query=count(spread)&time=%d", now/1000+1))
		require.Equal(t, http.StatusOK, q.code, q.body)
		require.Contains(t, q.body, `"value":[`)
		require.Contains(t, q.body, `"60"]`, "node-%d: %s", i, q.body)
		require.NotContains(t, q.body, "warnings")
		v := get(t, d, "/api/v1/label/i/values")
		require.Equal(t, http.StatusOK, v.code)
		require.Contains(t, v.body, `"59"`, "node-%d label values", i)
		ra, series := remoteReadAt(t, d, "/api/v1/read", "", "spread", now)
		require.Equal(t, http.StatusOK, ra.code, ra.body)
		require.Len(t, series, 60, "node-%d remote read", i)
	}

}
