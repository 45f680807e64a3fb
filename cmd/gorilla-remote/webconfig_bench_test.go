package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/internal/tlstest"
)

// BenchmarkWebConfig measures what the web configuration file costs a
// request: the toolkit reads and parses the file on every request and, with
// basic auth, looks the credentials up in its cache of bcrypt checks (the
// check itself runs once). Each request goes over a kept-alive loopback
// connection to a handler that answers 204 at once; compare the
// sub-benchmarks' ns/op with the one without the file.
func BenchmarkWebConfig(b *testing.B) {
	dir := b.TempDir()
	files, err := tlstest.Write(dir)
	require.NoError(b, err)
	users := basicAuthUsers(b, testUser, testPassword)
	for _, bc := range []struct {
		name, config, scheme string
	}{
		{"none", "", "http"},
		{"basic_auth", users, "http"},
		{"tls", tlsSection, "https"},
		{"tls+basic_auth", tlsSection + users, "https"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			webConfig := ""
			if bc.config != "" {
				webConfig = writeWebConfig(b, dir, bc.config)
			}
			s, err := defaultSettings()
			require.NoError(b, err)
			addr := startTLS(b, s, http.HandlerFunc(readBody), webConfig)
			c := newClient(b, files.Pool, testUser, testPassword)
			url := bc.scheme + "://" + addr + "/"
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					b.Fatalf("status %d, want 204", resp.StatusCode)
				}
			}
		})
	}
}
