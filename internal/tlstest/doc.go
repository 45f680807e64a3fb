// Package tlstest makes the certificates that tests serving TLS need: a
// self-signed certificate authority and a server certificate it signs,
// written as PEM files into a directory of the test's.
//
//	files, err := tlstest.Write(t.TempDir())
//	// serve with files.CertFile and files.KeyFile;
//	// clients trust files.Pool (or files.CAFile).
//
// The keys are fresh ECDSA P-256 keys on every call; nothing here is fit
// for anything but a test.
package tlstest
