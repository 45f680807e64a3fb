package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist holds the built UI (make ui); it is read-only data, not state.
//
//go:embed dist
var dist embed.FS

// AssetPrefix is the URL path under which the built assets are served.
const AssetPrefix = "/ui/assets/"

// Cache-Control values: the page is revalidated on every load (its ETag
// makes that a 304), the hashed assets never are.
const (
	pageCache  = "no-cache"
	assetCache = "public, max-age=31536000, immutable"
)

// contentSecurityPolicy keeps the page to its own origin: no inline
// script, no CDN. uPlot sets element styles from script, which style-src
// 'unsafe-inline' allows.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"

// Pages returns the URL paths that answer with the UI's page.
func Pages() []string { return []string{"/query", "/series", "/status", "/correlate"} }

// contentType returns the type of the extensions the build emits; the
// system's MIME tables differ between machines, this does not.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".png":
		return "image/png", true
	}
	return "", false
}

// Handler serves the embedded UI.
type Handler struct {
	page   []byte
	etag   string
	assets fs.FS
}

// New returns a Handler over the embedded build. It fails when the build
// is missing its page or when the page names an asset the build lacks.
func New() (*Handler, error) {
	return newHandler(dist)
}

func newHandler(fsys fs.FS) (*Handler, error) {
	page, err := fs.ReadFile(fsys, "dist/index.html")
	if err != nil {
		return nil, fmt.Errorf("web UI: read the built page (run make ui): %w", err)
	}
	assets, err := fs.Sub(fsys, "dist/assets")
	if err != nil {
		return nil, fmt.Errorf("web UI: assets: %w", err)
	}
	for _, name := range referencedAssets(page) {
		if _, err := fs.Stat(assets, name); err != nil {
			return nil, fmt.Errorf("web UI: the page names asset %q: %w", name, err)
		}
	}
	sum := sha256.Sum256(page)
	return &Handler{page: page, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, assets: assets}, nil
}

// referencedAssets returns the names after "ui/assets/" in the page's
// src and href attributes.
func referencedAssets(page []byte) []string {
	var out []string
	rest := page
	marker := []byte(strings.TrimPrefix(AssetPrefix, "/"))
	for {
		i := bytes.Index(rest, marker)
		if i < 0 {
			return out
		}
		rest = rest[i+len(marker):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return out
		}
		out = append(out, string(rest[:end]))
	}
}

// Register adds the UI's routes to mux: GET (and HEAD) of "/" exactly,
// of each of Pages() and of AssetPrefix. No other path is taken, so a
// catch-all "/" handler registered by the caller keeps every other path.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "query", http.StatusFound)
	})
	for _, p := range Pages() {
		mux.HandleFunc("GET "+p, h.servePage)
	}
	mux.HandleFunc("GET "+AssetPrefix, h.serveAsset)
}

// servePage answers the page, revalidated by its ETag.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", pageCache)
	hd.Set("ETag", h.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	// The zero time sends no Last-Modified: the ETag is the validator.
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(h.page))
}

// serveAsset answers a built asset with a year-long cache, or 404.
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, AssetPrefix)
	ct, known := contentType(path.Ext(name))
	var b []byte
	err := fs.ErrNotExist
	if known && fs.ValidPath(name) && !strings.Contains(name, "/") {
		b, err = fs.ReadFile(h.assets, name)
	}
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("Cache-Control", assetCache)
	hd.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
