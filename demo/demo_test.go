package demo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want string
	}{
		{0, "    |"},
		{1, "    |####"},
		{-0.5, "  ##|"},
		{-2, "####|"},
	} {
		require.Equal(t, tc.want, bar(tc.r, 4), "r=%v", tc.r)
	}
}

// stoppedServer is a server that failed at once, as one that cannot listen.
type stoppedServer struct{ err error }

func (s stoppedServer) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func (s stoppedServer) Stop() error { return s.err }

func TestRunServerFailsToStart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	parent := t.TempDir()
	failed := errors.New("listen on 127.0.0.1:1: address in use")
	var gotDir, gotAddr string
	start := func(dir, addr string, _ *slog.Logger) (Server, error) {
		gotDir, gotAddr = dir, addr
		return stoppedServer{failed}, nil
	}
	err := Run(context.Background(), Options{Series: 1, Rounds: 1, Listen: "127.0.0.1:1", TempParent: parent, Start: start},
		&bytes.Buffer{}, &bytes.Buffer{})
	require.ErrorIs(t, err, failed)
	require.ErrorContains(t, err, "the server stopped before it was ready")
	require.Equal(t, "127.0.0.1:1", gotAddr)
	require.Contains(t, gotDir, parent)
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Empty(t, entries, "the data directory is removed")
}

func TestRunRefusesBadOptions(t *testing.T) {
	start := func(string, string, *slog.Logger) (Server, error) { t.Fatal("started a server"); return nil, nil }
	for _, o := range []Options{{Series: 0, Rounds: 1, Start: start}, {Series: 1, Rounds: 0, Start: start}, {Series: 1, Rounds: 1}} {
		o.TempParent = t.TempDir()
		require.Error(t, Run(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{}))
	}
}

func TestAnalyticsRequestsAreSeeded(t *testing.T) {
	end := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a, b := analyticsRequests(end), analyticsRequests(end)
	require.Equal(t, a, b, "the same values every run")
	n := 0
	for _, r := range a {
		require.Len(t, r.Timeseries, 3)
		n += len(r.Timeseries[0].Samples)
	}
	require.Equal(t, demoPoints, n)
	last := a[len(a)-1].Timeseries[0].Samples
	require.Equal(t, end.Add(-demoInterval).UnixMilli(), last[len(last)-1].Timestamp)
}
