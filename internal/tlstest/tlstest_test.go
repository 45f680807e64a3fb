package tlstest

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

// TestWrite checks that the server certificate loads with its key and
// verifies against the pool for each name it is made for, and that a
// second Write makes a certificate the first pool does not trust.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	f, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(f Files) *x509.Certificate {
		t.Helper()
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			t.Fatalf("load key pair: %v", err)
		}
		c, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cert := leaf(f)
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: f.Pool, DNSName: name}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	renewed, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf(renewed).Verify(x509.VerifyOptions{Roots: f.Pool, DNSName: "localhost"}); err == nil {
		t.Fatalf("the renewed certificate verifies against the first authority; want a new authority")
	}
}
