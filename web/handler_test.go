package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// newServer serves the embedded UI in front of a catch-all "/" handler
// that stands for the API, as cmd/gorilla-remote wires it.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Fallback", "api")
		http.NotFound(w, r)
	})
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestEmbeddedBuild(t *testing.T) {
	page, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		t.Fatalf("the build has no page: %v", err)
	}
	names := referencedAssets(page)
	var js, css int
	for _, n := range names {
		b, err := fs.ReadFile(dist, "dist/assets/"+n)
		if err != nil {
			t.Fatalf("the page names %s, the build lacks it: %v", n, err)
		}
		if len(b) == 0 {
			t.Fatalf("asset %s is empty", n)
		}
		switch {
		case strings.HasSuffix(n, ".js"):
			js++
		case strings.HasSuffix(n, ".css"):
			css++
		}
	}
	if js != 1 || css != 1 {
		t.Fatalf("the page names %v: got %d scripts and %d stylesheets, want 1 and 1", names, js, css)
	}
}

func TestPagesServeIndex(t *testing.T) {
	srv := newServer(t)
	for _, p := range Pages() {
		resp, body := get(t, srv.Client(), http.MethodGet, srv.URL+p+"?expr=up", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got status %d, want 200", p, resp.StatusCode)
		}
		if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
			t.Fatalf("GET %s: got Content-Type %q, want %q", p, got, want)
		}
		if got := resp.Header.Get("Cache-Control"); got != pageCache {
			t.Fatalf("GET %s: got Cache-Control %q, want %q", p, got, pageCache)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("GET %s: no Content-Security-Policy", p)
		}
		if !strings.Contains(body, `<main id="page">`) {
			t.Fatalf("GET %s: body is not the UI's page: %.200s", p, body)
		}
	}
}

func TestHeadOfPage(t *testing.T) {
	srv := newServer(t)
	resp, body := get(t, srv.Client(), http.MethodHead, srv.URL+"/correlate", nil)
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("HEAD /correlate: got %d with %d bytes, want 200 and none", resp.StatusCode, len(body))
	}
	if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Fatalf("HEAD /correlate: got Content-Type %q, want %q", got, want)
	}
}

func TestPageRevalidates(t *testing.T) {
	srv := newServer(t)
	resp, _ := get(t, srv.Client(), http.MethodGet, srv.URL+"/query", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("the page has no ETag")
	}
	resp, body := get(t, srv.Client(), http.MethodGet, srv.URL+"/status", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("GET with If-None-Match: got %d with %d bytes, want 304 and none", resp.StatusCode, len(body))
	}
}

func TestAssetsServed(t *testing.T) {
	srv := newServer(t)
	page, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range referencedAssets(page) {
		want := "text/javascript; charset=utf-8"
		if strings.HasSuffix(n, ".css") {
			want = "text/css; charset=utf-8"
		}
		resp, body := get(t, srv.Client(), http.MethodGet, srv.URL+AssetPrefix+n, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got status %d, want 200", n, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); got != want {
			t.Fatalf("GET %s: got Content-Type %q, want %q", n, got, want)
		}
		if got := resp.Header.Get("Cache-Control"); got != assetCache {
			t.Fatalf("GET %s: got Cache-Control %q, want %q", n, got, assetCache)
		}
		b, err := fs.ReadFile(dist, "dist/assets/"+n)
		if err != nil {
			t.Fatal(err)
		}
		if body != string(b) {
			t.Fatalf("GET %s: got %d bytes, want the embedded %d", n, len(body), len(b))
		}
	}
}

func TestUnknownAssetsAreNotFound(t *testing.T) {
	srv := newServer(t)
	for _, p := range []string{"app.js", "missing-0000.js", "index.html", "../index.html", "x/../../dist/index.html", "app.exe"} {
		resp, _ := get(t, srv.Client(), http.MethodGet, srv.URL+AssetPrefix+p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s%s: got status %d, want 404", AssetPrefix, p, resp.StatusCode)
		}
		if strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Fatalf("GET %s%s: a 404 is cached as immutable", AssetPrefix, p)
		}
	}
}

func TestRootRedirectsToQuery(t *testing.T) {
	srv := newServer(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := get(t, c, http.MethodGet, srv.URL+"/", nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /: got status %d, want 302", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Location"), "/query"; got != want {
		t.Fatalf("GET /: got Location %q, want %q", got, want)
	}
}

// The UI takes its own paths only: the API, health, metrics, debug,
// internal, ring and federation paths reach the caller's handler, as do
// writes to the page paths.
func TestOtherPathsReachFallback(t *testing.T) {
	srv := newServer(t)
	cases := []struct{ method, path string }{
		{http.MethodGet, "/api/v1/query"},
		{http.MethodPost, "/api/v1/write"},
		{http.MethodGet, "/-/healthy"},
		{http.MethodGet, "/metrics"},
		{http.MethodGet, "/debug/pprof/"},
		{http.MethodPost, "/internal/v1/push"},
		{http.MethodGet, "/ring"},
		{http.MethodGet, "/federate"},
		{http.MethodGet, "/query/"},
		{http.MethodGet, "/ui/"},
		{http.MethodPost, "/query"},
		{http.MethodPost, "/"},
	}
	for _, c := range cases {
		resp, _ := get(t, srv.Client(), c.method, srv.URL+c.path, nil)
		if got := resp.Header.Get("X-Fallback"); got != "api" {
			t.Fatalf("%s %s: got status %d from the UI, want the fallback handler", c.method, c.path, resp.StatusCode)
		}
	}
}

func TestNewRejectsIncompleteBuild(t *testing.T) {
	cases := map[string]fstest.MapFS{
		"no page": {"dist/assets/app-1.js": {Data: []byte("x")}},
		"missing asset": {
			"dist/index.html":      {Data: []byte(`<script src="ui/assets/app-2.js"></script>`)},
			"dist/assets/app-1.js": {Data: []byte("x")},
		},
	}
	for name, fsys := range cases {
		if _, err := newHandler(fsys); err == nil {
			t.Fatalf("%s: newHandler succeeded, want an error", name)
		}
	}
}
