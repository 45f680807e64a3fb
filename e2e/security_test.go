//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gorilla-remote/gorilla-remote/internal/tlstest"
)

// The account Prometheus sends with, and its password.
const (
	e2eUser     = "prometheus"
	e2ePassword = "correct horse battery staple"
)

// TestPrometheusWithTLSAndBasicAuth runs gorilla-remote with a web
// configuration file (TLS with a certificate of the test's own authority,
// a bcrypt-hashed basic-auth account) between two Prometheus servers: #1
// scrapes itself and remote-writes over HTTPS with basic_auth and
// tls_config, #2 remote-reads the same way, and both must hold the same
// samples over a window. Without the account, or over plain HTTP, nothing
// is served.
func TestPrometheusWithTLSAndBasicAuth(t *testing.T) {
	promBin := lookBinary(t, "prometheus")
	bin := buildServer(t)
	dir := t.TempDir()
	files, err := tlstest.Write(dir)
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte(e2ePassword), bcrypt.DefaultCost)
	require.NoError(t, err)
	webConfig := writeFile(t, "web.yml", fmt.Sprintf(
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: '%s'\n",
		files.CertFile, files.KeyFile, e2eUser, hash))

	grPort, p1Port, p2Port := freePort(t), freePort(t), freePort(t)
	grURL := fmt.Sprintf("https://127.0.0.1:%d", grPort)
	c := newHTTPClient(t)
	gc := authClient(t, files.Pool, e2eUser, e2ePassword)
	gr := startProcess(t, "gorilla-remote", bin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", grPort),
		"--storage.path="+t.TempDir(), "--web.config.file="+webConfig)
	gr.waitOK(t, gc, grURL+"/-/ready", 30*time.Second)

	t.Run("refused without the account", func(t *testing.T) {
		for _, path := range []string{"/-/ready", "/metrics", "/api/v1/write", "/api/v1/read", "/api/v1/query?query=up"} {
			resp, err := authClient(t, files.Pool, e2eUser, "wrong").Get(grURL + path)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
		}
		resp, err := c.Get(strings.Replace(grURL, "https:", "http:", 1) + "/-/ready")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to the TLS port")
	})

	p1 := startPrometheus(t, c, promBin, "prometheus-1", p1Port,
		fmt.Sprintf(securedWriterConfig, p1Port, grPort, e2eUser, e2ePassword, files.CAFile))
	ready := time.Now()
	require.NoError(t, poll(20*time.Second, 200*time.Millisecond, func() bool {
		n, _ := metricSum(t, gc, grURL+"/metrics", "gorilla_head_samples_appended_total", "")
		return n > 0
	}), "gorilla-remote received no sample from Prometheus #1 over TLS with basic auth")

	t0 := (ready.Add(4*time.Second).UnixMilli()/1000 + 1) * 1000
	t1 := t0 + (8 * time.Second).Milliseconds()
	time.Sleep(time.Until(time.UnixMilli(t1 + sentMargin.Milliseconds())))
	waitSent(t, c, p1.base, t1+sentMargin.Milliseconds())
	p2 := startPrometheus(t, c, promBin, "prometheus-2", p2Port,
		fmt.Sprintf(securedReaderConfig, grPort, e2eUser, e2ePassword, files.CAFile))

	for _, name := range []string{"up", "prometheus_http_requests_total"} {
		want := rawWindow(t, p1, name, t0, t1)
		require.NotEmpty(t, want, "Prometheus #1: %s", name)
		requireSameSeries(t, want, rawWindow(t, p2, name, t0, t1), "remote read of "+name+" by Prometheus #2")
	}
	up := &prompb.LabelMatcher{Type: prompb.LabelMatcher_EQ, Name: labels.MetricName, Value: "up"}
	requireSameSeries(t, rawWindow(t, p1, "up", t0, t1),
		remoteRead(t, gc, grURL+"/api/v1/read", prompb.ReadRequest_STREAMED_XOR_CHUNKS, t0, t1, up), "chunks read of up")

	code, err := gr.stop(syscall.SIGTERM, 10*time.Second)
	require.NoError(t, err, "stop gorilla-remote with SIGTERM")
	require.Zero(t, code, "exit code of gorilla-remote after SIGTERM")
}

// authClient returns a client that trusts pool and sends user's basic auth
// on every request.
func authClient(t *testing.T, pool *x509.CertPool, user, password string) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: basicAuthTransport{user, password, tr}, Timeout: 30 * time.Second}
}

// basicAuthTransport adds one account's basic auth to every request.
type basicAuthTransport struct {
	user, password string
	next           http.RoundTripper
}

func (b basicAuthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.password)
	return b.next.RoundTrip(r)
}

// securedWriterConfig is Prometheus #1's configuration: its own port,
// gorilla-remote's port, the account and the CA file. One shard sends in
// WAL order, so the highest timestamp it sent bounds everything before.
const securedWriterConfig = `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:%d']
remote_write:
  - url: https://127.0.0.1:%d/api/v1/write
    name: gorilla
    basic_auth:
      username: %s
      password: %q
    tls_config:
      ca_file: %s
    queue_config:
      min_shards: 1
      max_shards: 1
      max_samples_per_send: 2000
      batch_send_deadline: 200ms
      min_backoff: 50ms
      max_backoff: 500ms
`

// securedReaderConfig is Prometheus #2's configuration: gorilla-remote's
// port, the account and the CA file.
const securedReaderConfig = `
global:
  evaluation_interval: 1m
remote_read:
  - url: https://127.0.0.1:%d/api/v1/read
    name: gorilla
    read_recent: true
    basic_auth:
      username: %s
      password: %q
    tls_config:
      ca_file: %s
`
