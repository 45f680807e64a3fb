package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/exporter-toolkit/web"
)

// The web configuration file (--web.config.file) is the exporter-toolkit's,
// the file Prometheus, Alertmanager and the exporters take under the same
// flag: tls_server_config, http_server_config, basic_auth_users (bcrypt
// hashes) and rate_limit (docs/security.md). The toolkit wraps the whole
// handler, so every path is behind it, /-/healthy and /-/ready included:
// the file has no way to exempt a path, and Prometheus exempts none.
//
// When the toolkit reads the file decides what a change of it needs:
//   - basic_auth_users and the response headers: read on every request;
//   - the certificate, key, client CAs and TLS versions: read on every TLS
//     handshake;
//   - whether TLS is on at all, HTTP/2 and rate_limit: read once, at start.
//
// So a new password or a renewed certificate takes effect with no restart
// and no reload; turning TLS on or off takes a restart. A file that turns
// invalid while the server runs fails each request with 500 (and each TLS
// handshake) until it is fixed; it is checked once more at every start.

// serveHTTP serves hs on ln until hs is shut down, behind the TLS and basic
// auth of the web configuration file at webConfig; an empty webConfig
// serves plain HTTP with no authentication. The listener's connection limit
// and the server's timeouts hold either way: TLS runs on the accepted
// connections of ln and the toolkit only sets hs's handler and TLS config.
// Like http.Server.Serve it returns http.ErrServerClosed after a shutdown.
func serveHTTP(hs *http.Server, ln net.Listener, webConfig string, logger *slog.Logger) error {
	if webConfig == "" {
		return hs.Serve(ln)
	}
	return web.Serve(ln, hs, &web.FlagConfig{WebConfigFile: &webConfig}, logger)
}

// checkWebConfig reads the web configuration file at path as the server
// will, with its certificate, key and client CAs, and checks that every
// basic_auth_users entry is a bcrypt hash. An empty path is valid.
func checkWebConfig(path string) error {
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("invalid web configuration file (docs/security.md): %w", err)
	}
	return nil
}
