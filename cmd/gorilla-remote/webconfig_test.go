package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/gorilla-remote/gorilla-remote/internal/tlstest"
)

// The basic-auth account of the tests.
const (
	testUser     = "prometheus"
	testPassword = "s3cret"
)

// basicAuthUsers is a basic_auth_users section holding user with a bcrypt
// hash of password (the lowest cost, to keep the tests fast).
func basicAuthUsers(t testing.TB, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	return fmt.Sprintf("basic_auth_users:\n  %s: '%s'\n", user, hash)
}

// tlsSection is a tls_server_config naming the certificate and key that
// tlstest.Write puts beside the web configuration file, by relative paths:
// the toolkit reads them relative to the file's directory.
const tlsSection = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"

// writeWebConfig writes content as web.yml into dir and returns its path.
func writeWebConfig(t testing.TB, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// basicAuth is a transport sending every request with one account.
type basicAuth struct {
	user, password string
	next           http.RoundTripper
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.password)
	return b.next.RoundTrip(r)
}

// newClient returns a client that trusts pool (nil: the system's roots)
// and, unless user is empty, sends user's basic auth; its connections are
// closed when the test ends.
func newClient(t testing.TB, pool *x509.CertPool, user, password string) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	var rt http.RoundTripper = tr
	if user != "" {
		rt = basicAuth{user, password, tr}
	}
	return &http.Client{Transport: rt, Timeout: time.Minute}
}

// startSecured runs a server of the serve command with the web
// configuration file webConfig, reached by scheme with the test account,
// trusting pool; it is stopped when the test ends.
func startSecured(t *testing.T, webConfig, scheme string, pool *x509.CertPool) *testServer {
	t.Helper()
	s, err := defaultSettings()
	require.NoError(t, err)
	s.StoragePath = t.TempDir()
	s.ListenAddress = freeAddr(t)
	s.WebConfigFile = webConfig
	srv := newServer(s, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	d, err := startTestServerWith(srv, scheme+"://"+s.ListenAddress, newClient(t, pool, testUser, testPassword))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.stop()) })
	return d
}

// guarded are the server's endpoints, every one of them behind the web
// configuration's basic auth.
var guarded = []struct{ method, path string }{
	{http.MethodGet, "/-/healthy"},
	{http.MethodGet, "/"},
	{http.MethodGet, "/query"},
	{http.MethodGet, "/status"},
	{http.MethodGet, "/-/ready"},
	{http.MethodGet, "/metrics"},
	{http.MethodGet, "/debug/pprof/"},
	{http.MethodGet, "/api/v1/query?query=1"},
	{http.MethodGet, "/api/v1/labels"},
	{http.MethodPost, "/api/v1/write"},
	{http.MethodPost, "/api/v1/read"},
}

// requireCode sends method path to d with c and requires the status want.
func requireCode(t *testing.T, d *testServer, c *http.Client, method, path string, want int) answer {
	t.Helper()
	req, err := http.NewRequest(method, d.url+path, strings.NewReader(""))
	require.NoError(t, err)
	a := do(t, c, req)
	require.Equal(t, want, a.code, "%s %s: %s", method, path, a.body)
	return a
}

func TestBasicAuthGuardsEveryEndpoint(t *testing.T) {
	dir := t.TempDir()
	d := startSecured(t, writeWebConfig(t, dir, basicAuthUsers(t, testUser, testPassword)), "http", nil)
	for name, c := range map[string]*http.Client{
		"no credentials": newClient(t, nil, "", ""),
		"wrong password": newClient(t, nil, testUser, testPassword+"x"),
		"unknown user":   newClient(t, nil, "grafana", testPassword),
	} {
		for _, e := range guarded {
			req, err := http.NewRequest(e.method, d.url+e.path, strings.NewReader(""))
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s: %s %s", name, e.method, e.path)
			require.Equal(t, "Basic", resp.Header.Get("WWW-Authenticate"), "%s: %s %s", name, e.method, e.path)
		}
	}
	for _, e := range guarded {
		if e.method == http.MethodGet {
			requireCode(t, d, d.client, e.method, e.path, http.StatusOK)
		}
	}
	require.Equal(t, http.StatusNoContent, writeSample(t, d, time.Now().UnixMilli()).code)

	// A file that turns invalid under the running server serves nothing
	// until it is fixed.
	writeWebConfig(t, dir, "basic_auth_user:\n")
	requireCode(t, d, d.client, http.MethodGet, "/-/healthy", http.StatusInternalServerError)
	writeWebConfig(t, dir, basicAuthUsers(t, testUser, testPassword))
	requireCode(t, d, d.client, http.MethodGet, "/-/healthy", http.StatusOK)
}

func TestTLSWithBasicAuth(t *testing.T) {
	dir := t.TempDir()
	files, err := tlstest.Write(dir)
	require.NoError(t, err)
	d := startSecured(t, writeWebConfig(t, dir, tlsSection+basicAuthUsers(t, testUser, testPassword)), "https", files.Pool)

	resp, err := d.client.Get(d.url + "/-/ready")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotNil(t, resp.TLS, "answered over TLS")
	require.Equal(t, http.StatusNoContent, writeSample(t, d, time.Now().UnixMilli()).code)
	requireCode(t, d, newClient(t, files.Pool, "", ""), http.MethodGet, "/-/healthy", http.StatusUnauthorized)

	// HTTP/2, on by default under TLS: the query API's and the write
	// handler's per-request deadlines work on its streams too.
	h2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: files.Pool}, ForceAttemptHTTP2: true}
	t.Cleanup(h2.CloseIdleConnections)
	over2 := *d
	over2.client = &http.Client{Transport: basicAuth{testUser, testPassword, h2}, Timeout: time.Minute}
	resp, err = over2.client.Get(d.url + "/api/v1/query?query=1")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 2, resp.ProtoMajor, "HTTP/2 over TLS")
	require.Equal(t, http.StatusNoContent, writeSample(t, &over2, time.Now().UnixMilli()).code)

	// Plain HTTP to the TLS port gets no answer of the server's handlers:
	// Go's TLS server tells it to use HTTPS with a 400.
	plain := *d
	plain.url = "http://" + strings.TrimPrefix(d.url, "https://")
	a := requireCode(t, &plain, newClient(t, nil, testUser, testPassword), http.MethodGet, "/-/healthy", http.StatusBadRequest)
	require.Contains(t, a.body, "HTTPS")

	// A client that does not trust the certificate's authority is refused.
	_, err = newClient(t, x509.NewCertPool(), testUser, testPassword).Get(d.url + "/-/healthy")
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown)
}

// TestWebConfigReadOnEveryRequest changes the web configuration file under
// a running server: a new password counts from the next request and a
// renewed certificate from the next TLS handshake, with no restart and no
// reload.
func TestWebConfigReadOnEveryRequest(t *testing.T) {
	dir := t.TempDir()
	files, err := tlstest.Write(dir)
	require.NoError(t, err)
	path := writeWebConfig(t, dir, tlsSection+basicAuthUsers(t, testUser, testPassword))
	d := startSecured(t, path, "https", files.Pool)

	writeWebConfig(t, dir, tlsSection+basicAuthUsers(t, testUser, "changed"))
	requireCode(t, d, d.client, http.MethodGet, "/-/healthy", http.StatusUnauthorized)
	requireCode(t, d, newClient(t, files.Pool, testUser, "changed"), http.MethodGet, "/-/healthy", http.StatusOK)

	renewed, err := tlstest.Write(dir)
	require.NoError(t, err)
	_, err = newClient(t, files.Pool, testUser, "changed").Get(d.url + "/-/healthy")
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown, "a new connection gets the renewed certificate")
	requireCode(t, d, newClient(t, renewed.Pool, testUser, "changed"), http.MethodGet, "/-/healthy", http.StatusOK)
}

func TestInvalidWebConfigRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	missing := filepath.Join(dir, "missing.yml")
	for _, tc := range []struct {
		name string
		path string
		want string
	}{
		{"missing file", missing, "no such file"},
		{"unknown key", write("key.yml", "basic_auth_user:\n  admin: x\n"), "basic_auth_user"},
		{"password not hashed", write("plain.yml", "basic_auth_users:\n  admin: secret\n"), "bcrypt"},
		{"certificate missing", write("cert.yml", "tls_server_config:\n  cert_file: none.crt\n  key_file: none.key\n"), "cert_file"},
		{"key without certificate", write("half.yml", "tls_server_config:\n  key_file: server.key\n"), "missing one of cert or cert_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSettingsErr(t, "", "--web.config.file="+tc.path)
			require.ErrorContains(t, err, "--web.config.file="+tc.path+": invalid web configuration file")
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("from the config file", func(t *testing.T) {
		_, err := parseSettingsErr(t, "web:\n  config_file: "+missing+"\n")
		require.ErrorContains(t, err, "config key web.config_file: "+missing+" in ")
		require.ErrorContains(t, err, "invalid web configuration file")
	})
	t.Run("valid file", func(t *testing.T) {
		_, err := tlstest.Write(dir)
		require.NoError(t, err)
		path := write("web.yml", tlsSection+basicAuthUsers(t, testUser, testPassword))
		s, err := parseSettingsErr(t, "", "--web.config.file="+path)
		require.NoError(t, err)
		require.Equal(t, path, s.WebConfigFile)
	})
}

// startTLS serves h as the server does (listen, newHTTPServer, serveHTTP)
// with the web configuration file webConfig on a loopback port, and
// returns its address.
func startTLS(t testing.TB, s settings, h http.Handler, webConfig string) string {
	t.Helper()
	s.ListenAddress = "127.0.0.1:0"
	ln, err := listen(s)
	require.NoError(t, err)
	logger := slog.New(slog.DiscardHandler)
	hs := newHTTPServer(s, h, logger)
	done := make(chan error, 1)
	go func() { done <- serveHTTP(hs, ln, webConfig, logger) }()
	t.Cleanup(func() {
		require.NoError(t, hs.Close())
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return ln.Addr().String()
}

// TestSlowBodyIsCutOffUnderTLS is TestSlowBodyIsCutOff through TLS: the
// server's read timeout still ends a request whose body trickles in.
func TestSlowBodyIsCutOffUnderTLS(t *testing.T) {
	dir := t.TempDir()
	files, err := tlstest.Write(dir)
	require.NoError(t, err)
	addr := startTLS(t, shortTimeouts(t), http.HandlerFunc(readBody), writeWebConfig(t, dir, tlsSection))
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: files.Pool, ServerName: "127.0.0.1"})
	require.NoError(t, err)
	defer conn.Close()
	sendSlowBody(t, conn)
}

// TestNoWebConfigServesPlainHTTP checks that without --web.config.file the
// server is what it was: plain HTTP, no authentication asked.
func TestNoWebConfigServesPlainHTTP(t *testing.T) {
	addr := startTLS(t, shortTimeouts(t), http.HandlerFunc(readBody), "")
	resp, err := newClient(t, nil, "", "").Post("http://"+addr+"/api/v1/write", "application/x-protobuf", strings.NewReader("x"))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Nil(t, resp.TLS)
}

// TestSecurityDocsExample checks the basic-auth example of docs/security.md:
// the server accepts it, and its hashes are those of the passwords the
// page names.
func TestSecurityDocsExample(t *testing.T) {
	raw, err := os.ReadFile("../../docs/security.md")
	require.NoError(t, err)
	const start = "```yaml\nbasic_auth_users:\n"
	i := strings.Index(string(raw), start)
	require.GreaterOrEqual(t, i, 0, "docs/security.md has no basic-auth example")
	example, _, ok := strings.Cut(string(raw[i+len("```yaml\n"):]), "```")
	require.True(t, ok)
	require.NoError(t, checkWebConfig(writeWebConfig(t, t.TempDir(), example)))
	for user, password := range map[string]string{"prometheus": "s3cret", "grafana": "grafana-s3cret"} {
		_, rest, ok := strings.Cut(example, "  "+user+": ")
		require.True(t, ok, "no user %s in the example", user)
		hash, _, _ := strings.Cut(rest, "\n")
		require.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)), user)
	}
}
