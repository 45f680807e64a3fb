package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// clusterSettingsFor returns default settings of a node named name in
// cluster mode, its API and gossip on free ports of 127.0.0.1, joining
// join (its own gossip address when empty: a cluster of one member).
func clusterSettingsFor(t *testing.T, name string, join ...string) settings {
	t.Helper()
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	s.Cluster.NodeName = name
	s.Cluster.ListenAddress = freeAddr(t)
	s.Cluster.Join = join
	if len(join) == 0 {
		s.Cluster.Join = []string{s.Cluster.ListenAddress}
	}
	s.Cluster.ReplicationFactor = 1
	s.Cluster.HeartbeatTimeout = 3 * time.Second
	return s
}

// decodeClusterStatus gets /api/v1/status/cluster of d.
func decodeClusterStatus(t *testing.T, d *testServer) clusterStatus {
	t.Helper()
	a := get(t, d, "/api/v1/status/cluster")
	require.Equal(t, http.StatusOK, a.code, a.body)
	var env struct {
		Status string        `json:"status"`
		Data   clusterStatus `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &env), a.body)
	require.Equal(t, "success", env.Status)
	return env.Data
}

// waitActive waits until d sees n members, all ACTIVE and healthy.
func waitActive(t *testing.T, d *testServer, n int) {
	t.Helper()
	var st clusterStatus
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st = decodeClusterStatus(t, d)
		active := 0
		for _, m := range st.Members {
			if m.State == "ACTIVE" && m.Healthy {
				active++
			}
		}
		if len(st.Members) == n && active == n {
			return
		}
	}
	t.Fatalf("%s does not see %d ACTIVE members: %+v", st.Self, n, st.Members)
}

// TestClusterOfOne checks that a server without --cluster.join has no
// ring, opens no gossip port, serves no internal endpoint and reports a
// cluster of one.
func TestClusterOfOne(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := defaultSettings()
	require.NoError(t, err)
	require.False(t, s.Cluster.enabled(), "cluster mode is off by default")
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	s.Cluster.NodeName = "solo"
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()
	require.Nil(t, d.rs.srv.cluster, "no cluster, so no gossip transport")
	require.Nil(t, d.rs.srv.cluster.ring())
	require.Equal(t, 1, d.rs.srv.cluster.rf())

	st := decodeClusterStatus(t, d)
	require.Equal(t, "solo", st.Self)
	require.Equal(t, 1, st.ReplicationFactor)
	require.Len(t, st.Members, 1)
	m := st.Members[0]
	require.Equal(t, clusterMember{Name: "solo", Address: s.ListenAddress, State: "ACTIVE", Healthy: true, Ownership: 1,
		LastHeartbeat: m.LastHeartbeat}, m)
	_, err = time.Parse(time.RFC3339, m.LastHeartbeat)
	require.NoError(t, err)

	page := get(t, d, "/ring")
	require.Equal(t, http.StatusOK, page.code)
	require.Contains(t, page.body, "<td>solo (this node)</td>")
	require.Contains(t, page.body, "<td>ACTIVE</td>")
	require.Equal(t, http.StatusNotFound, postInternalPush(t, d, "", "up", time.Now().UnixMilli()).code)
}

// rw2Body is a remote write 2.0 request of one sample of series name.
func rw2Body(t *testing.T, name string, ts int64) []byte {
	t.Helper()
	req := &writev2.Request{
		Symbols: []string{"", "__name__", name, "job", "j"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2, 3, 4},
			Samples:    []writev2.Sample{{Timestamp: ts, Value: 42}},
		}},
	}
	raw, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

// postInternalPush pushes one sample of name to /internal/v1/push of d,
// as tenant id ("" sends no X-Scope-OrgID).
func postInternalPush(t *testing.T, d *testServer, id, name string, ts int64) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url+internalPush, bytes.NewReader(rw2Body(t, name, ts)))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	if id != "" {
		req.Header.Set(tenant.Header, id)
	}
	return do(t, d.client, req)
}

// internalReadSeries reads series name back over /internal/v1/read as
// tenant id ("" sends no X-Scope-OrgID).
func internalReadSeries(t *testing.T, d *testServer, id, name string, now int64) []*prompb.TimeSeries {
	t.Helper()
	a, series := remoteReadAt(t, d, internalRead, id, name, now)
	require.Equal(t, http.StatusOK, a.code, a.body)
	return series
}

// remoteReadAt reads series name of the last hour back over the remote
// read endpoint at path as tenant id ("" sends no X-Scope-OrgID); the
// series are nil unless the answer is 200.
func remoteReadAt(t *testing.T, d *testServer, path, id, name string, now int64) (answer, []*prompb.TimeSeries) {
	t.Helper()
	rr := prompb.ReadRequest{Queries: []*prompb.Query{{
		StartTimestampMs: now - time.Hour.Milliseconds(), EndTimestampMs: now + 1,
		Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: name}},
	}}}
	raw, err := rr.Marshal()
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, d.url+path, bytes.NewReader(snappy.Encode(nil, raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	if id != "" {
		req.Header.Set(tenant.Header, id)
	}
	a := do(t, d.client, req)
	if a.code != http.StatusOK {
		return a, nil
	}
	dec, err := snappy.Decode(nil, []byte(a.body))
	require.NoError(t, err)
	var resp prompb.ReadResponse
	require.NoError(t, resp.Unmarshal(dec))
	require.Len(t, resp.Results, 1)
	return a, resp.Results[0].Timeseries
}

// TestClusterInternalEndpoints runs a node in cluster mode: it turns
// ACTIVE once ready, a remote write 2.0 request pushed to
// /internal/v1/push reads back over /internal/v1/read and the internal
// query API, beside the public endpoints, and dskit's metrics carry our
// prefix.
func TestClusterInternalEndpoints(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := clusterSettingsFor(t, "node-a")
	reg := prometheus.NewRegistry()
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), reg))
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()
	require.NotNil(t, d.rs.srv.cluster.ring())
	require.Equal(t, "http", d.rs.srv.cluster.scheme())
	require.Equal(t, 5*time.Second, d.rs.srv.cluster.timeout())

	var st clusterStatus
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st = decodeClusterStatus(t, d)
		if len(st.Members) == 1 && st.Members[0].State == "ACTIVE" || time.Now().After(deadline) {
			break
		}
	}
	require.Equal(t, "node-a", st.Self)
	require.Len(t, st.Members, 1, "%+v", st)
	m := st.Members[0]
	require.Equal(t, "ACTIVE", m.State)
	require.True(t, m.Healthy)
	require.Equal(t, 128, m.Tokens)
	require.InDelta(t, 1, m.Ownership, 1e-9)
	require.Equal(t, s.ListenAddress, m.Address, "the ring advertises the API address")
	page := get(t, d, "/ring")
	require.Contains(t, page.body, "<td>node-a (this node)</td>")
	require.Contains(t, page.body, "<td>ACTIVE</td>")

	now := time.Now().UnixMilli()
	a := postInternalPush(t, d, "", "pushed_metric", now)
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	got := internalReadSeries(t, d, "", "pushed_metric", now)
	require.Len(t, got, 1)
	require.Equal(t, []prompb.Sample{{Timestamp: now, Value: 42}}, got[0].Samples)
	require.Contains(t, get(t, d, "/internal/v1/labels").body, `"job"`)
	require.Contains(t, get(t, d, "/internal/v1/label/__name__/values").body, `"pushed_metric"`)
	require.Equal(t, http.StatusOK, get(t, d, "/internal/v1/metadata").code)
	require.Equal(t, http.StatusOK, get(t, d, "/internal/v1/query_exemplars?query=pushed_metric").code)
	require.Equal(t, http.StatusNotFound, get(t, d, "/internal/v1/query?query=1").code, "no PromQL over one head")
	require.Equal(t, http.StatusNoContent, writeSample(t, d, now).code, "the public write path works beside")

	mfs, err := reg.Gather()
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		require.True(t, strings.HasPrefix(name, "gorilla_"), "metric %s lacks the gorilla_ prefix", name)
		seen[strings.SplitN(name, "_", 3)[1]] = true
	}
	require.True(t, seen["ring"], "no gorilla_ring_* metric")
	require.True(t, seen["memberlist"], "no gorilla_memberlist_* metric")
}

// TestClusterInternalTenants checks that with tenancy the internal
// endpoints serve the tenant of X-Scope-OrgID, and refuse a request
// without one.
func TestClusterInternalTenants(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := clusterSettingsFor(t, "node-a")
	s.TenancyEnabled = true
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	defer func() { require.NoError(t, d.stop()) }()
	waitActive(t, d, 1) // writes need an ACTIVE replica
	now := time.Now().UnixMilli()
	require.Equal(t, http.StatusUnauthorized, postInternalPush(t, d, "", "tenant_metric", now).code)
	a := postInternalPush(t, d, "team-a", "tenant_metric", now)
	require.Equal(t, http.StatusNoContent, a.code, a.body)
	require.Len(t, internalReadSeries(t, d, "team-a", "tenant_metric", now), 1)
	require.Empty(t, internalReadSeries(t, d, "team-b", "tenant_metric", now), "tenants stay apart")
	require.Equal(t, http.StatusNoContent, tenantRequest(t, d, "team-a", http.MethodPost, "/api/v1/write", nil, tenantWrite(t, now)).code,
		"the public write path works beside")
}

// TestClusterLeaveUploadsHead checks that a node leaving the cluster
// (POST /-/quit, as SIGTERM) seals and uploads the head's open window.
func TestClusterLeaveUploadsHead(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := clusterSettingsFor(t, "node-a")
	s.EnableLifecycle = true
	d, err := startTestServer(newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
	require.NoError(t, err)
	now := time.Now().UnixMilli()
	require.Equal(t, http.StatusNoContent, postInternalPush(t, d, "", "open_window", now).code)
	require.Empty(t, bucketMetas(t, s.StoragePath), "the window is open: nothing sealed yet")

	req, err := http.NewRequest(http.MethodPost, d.url+"/-/quit", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, do(t, d.client, req).code)
	<-d.rs.done
	require.NoError(t, d.rs.err)
	d.client.CloseIdleConnections()
	metas := bucketMetas(t, s.StoragePath)
	require.Len(t, metas, 1, "the open window is in the bucket")
	raw, err := os.ReadFile(metas[0])
	require.NoError(t, err)
	var meta struct {
		Thanos struct {
			Labels map[string]string `json:"labels"`
		} `json:"thanos"`
	}
	require.NoError(t, json.Unmarshal(raw, &meta))
	require.Equal(t, map[string]string{"gorilla_node": "node-a"}, meta.Thanos.Labels, "the block names the node that sealed it")
}

// bucketMetas returns the meta.json files of the filesystem bucket under
// the storage path dir.
func bucketMetas(t *testing.T, dir string) []string {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(dir, "bucket", "*", "meta.json"))
	require.NoError(t, err)
	return metas
}

// TestClusterJoinList checks that --cluster.join repeats on the command
// line and takes a list or a comma-separated value in the config file.
func TestClusterJoinList(t *testing.T) {
	s, err := parseSettingsErr(t, "", "--cluster.join=a:7946", "--cluster.join=b:7946")
	require.NoError(t, err)
	require.Equal(t, []string{"a:7946", "b:7946"}, s.Cluster.Join)
	require.True(t, s.Cluster.enabled())
	s, err = parseSettingsErr(t, "cluster:\n  join: [a:7946, b:7946]\n")
	require.NoError(t, err)
	require.Equal(t, []string{"a:7946", "b:7946"}, s.Cluster.Join)
	s, err = parseSettingsErr(t, "cluster:\n  join: a:7946,b:7946\n  replication_factor: 2\n")
	require.NoError(t, err)
	require.Equal(t, []string{"a:7946", "b:7946"}, s.Cluster.Join)
	require.Equal(t, 2, s.Cluster.ReplicationFactor)
	require.Equal(t, "a:7946,b:7946", flagValues(s)["cluster.join"])
}

// TestAdvertiseAddrs checks which addresses a node advertises.
func TestAdvertiseAddrs(t *testing.T) {
	web := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 9201}
	for _, tc := range []struct {
		name                  string
		listen, adv, webListn string
		gossip, api           string
	}{
		{"specific IPs", "127.0.0.2:7946", "", "127.0.0.2:9201", "", "127.0.0.2:9201"},
		{"wildcard gossip, web IP", ":7946", "", "127.0.0.2:9201", "127.0.0.2:7946", "127.0.0.2:9201"},
		{"advertise host", ":7946", "127.0.0.3", ":9201", "127.0.0.3:7946", "127.0.0.3:9201"},
		{"advertise host:port", ":7946", "127.0.0.3:8000", ":9201", "127.0.0.3:8000", "127.0.0.3:9201"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := clusterSettings{ListenAddress: tc.listen, AdvertiseAddress: tc.adv}
			gossip, api, err := advertiseAddrs(cs, tc.webListn, web)
			require.NoError(t, err)
			require.Equal(t, tc.gossip, gossip)
			require.Equal(t, tc.api, api)
		})
	}
	// A wildcard web address advertises a non-loopback IPv4 of the machine.
	if ip, err := firstIPv4(); err == nil {
		_, api, err := advertiseAddrs(clusterSettings{ListenAddress: ":7946"}, ":9201", web)
		require.NoError(t, err)
		require.Equal(t, net.JoinHostPort(ip, "9201"), api)
	}
}

// TestPeerClientConfig checks that the peer client sends the credentials
// of --cluster.client-config-file and dials https with a tls_config.
func TestPeerClientConfig(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth.yml")
	require.NoError(t, os.WriteFile(auth, []byte("basic_auth:\n  username: peer\n  password: s3cret\n"), 0o600))
	client, scheme, err := peerClient(auth)
	require.NoError(t, err)
	require.Equal(t, "http", scheme)
	var user, pass string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
	}))
	defer ts.Close()
	resp, err := client.Get(ts.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "peer:s3cret", user+":"+pass)

	tlsFile := filepath.Join(dir, "tls.yml")
	require.NoError(t, os.WriteFile(tlsFile, []byte("tls_config:\n  insecure_skip_verify: true\n"), 0o600))
	_, scheme, err = peerClient(tlsFile)
	require.NoError(t, err)
	require.Equal(t, "https", scheme)

	_, scheme, err = peerClient("")
	require.NoError(t, err)
	require.Equal(t, "http", scheme)
}
