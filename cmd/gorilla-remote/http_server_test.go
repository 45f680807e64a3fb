package main

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hangGuard bounds how long a test waits for the server to close a
// connection; a test reaching it has found a connection held open.
const hangGuard = 20 * time.Second

// startHTTP serves h with the server wiring of s on a loopback port and
// returns its address.
func startHTTP(t *testing.T, s settings, h http.Handler) string {
	t.Helper()
	s.ListenAddress = "127.0.0.1:0"
	ln, err := listen(s)
	require.NoError(t, err)
	hs := newHTTPServer(s, h, slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, hs.Close())
		require.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return ln.Addr().String()
}

// shortTimeouts are settings whose server timeouts a test can wait out.
func shortTimeouts(t *testing.T) settings {
	t.Helper()
	s, err := defaultSettings()
	require.NoError(t, err)
	s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	return s
}

// readUntilClosed reads conn until the server closes it, and fails the
// test if it is still open after hangGuard.
func readUntilClosed(t *testing.T, conn net.Conn, r io.Reader) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(hangGuard)))
	_, err := io.Copy(io.Discard, r)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after %v: the server holds it", hangGuard)
	}
}

// readBody is a handler that reads its whole body, as the write handler
// does, and answers 204.
func readBody(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestSlowBodyIsCutOff(t *testing.T) {
	addr := startHTTP(t, shortTimeouts(t), http.HandlerFunc(readBody))
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	sendSlowBody(t, conn)
}

// sendSlowBody starts a request on conn and sends its body a byte every
// 10ms, on and on: each read succeeds, so only a deadline on the whole
// request ends it. It returns once the server has closed conn.
func sendSlowBody(t *testing.T, conn net.Conn) {
	t.Helper()
	_, err := io.WriteString(conn, "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{'a'}); err != nil {
				return
			}
		}
	}()
	readUntilClosed(t, conn, conn)
}

func TestIdleConnectionIsClosed(t *testing.T) {
	addr := startHTTP(t, shortTimeouts(t), http.HandlerFunc(readBody))
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.False(t, resp.Close, "the connection is kept alive")
	// Nothing more is sent: the server must not keep the connection.
	readUntilClosed(t, conn, br)
}

func TestServerTimeoutsFromSettings(t *testing.T) {
	s := shortTimeouts(t)
	s.ReadTimeout = 5 * time.Second
	hs := newHTTPServer(s, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	require.Equal(t, 5*time.Second, hs.ReadTimeout)
	require.Equal(t, 5*time.Second, hs.ReadHeaderTimeout, "headers cannot take longer than the whole request")
	require.Equal(t, 300*time.Millisecond, hs.WriteTimeout)
	require.Equal(t, 300*time.Millisecond, hs.IdleTimeout)
}
