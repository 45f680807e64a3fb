package replication

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// sender forwards one region's queue.
type sender struct {
	opts   RegionOptions
	fo     *ForwarderOptions
	q      *Queue
	client *http.Client

	sentReqs, sentSamples       atomic.Int64
	retried                     atomic.Int64 // attempts that will be made again
	failedReqs, failedSamples   atomic.Int64 // refused by the peer with a 4xx, dropped
	droppedReqs, droppedSamples atomic.Int64 // given up while retrying, past MaxLag
	failing                     atomic.Bool  // the last attempt failed and is being retried
	lastErr                     atomic.Pointer[string]
}

func newSender(ro RegionOptions, q *Queue, fo *ForwarderOptions) *sender {
	c := ro.Client
	if c == nil {
		c = http.DefaultClient
	}
	setDefault(&ro.Concurrency, fo.Concurrency)
	setDefault(&ro.MinBackoff, fo.MinBackoff)
	setDefault(&ro.MaxBackoff, fo.MaxBackoff)
	return &sender{opts: ro, fo: fo, q: q, client: c}
}

// run sends windows of the queue until ctx is cancelled.
func (s *sender) run(ctx context.Context) {
	backoff := s.opts.MinBackoff
	for {
		win, err := s.q.Read(ctx, s.fo.BatchRequests, s.fo.BatchBytes)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.fo.Logger.Error("replication: reading the queue", "region", s.opts.Name, "err", err)
			if !s.sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, s.opts.MaxBackoff)
			continue
		}
		backoff = s.opts.MinBackoff
		s.sendWindow(ctx, win)
		if ctx.Err() != nil {
			return // the window is sent again after a restart
		}
		if err := s.q.Ack(win); err != nil {
			s.fo.Logger.Warn("replication: acknowledging sent requests", "region", s.opts.Name, "err", err)
		}
	}
}

// sendWindow delivers every request of win, at most Concurrency at once.
func (s *sender) sendWindow(ctx context.Context, win []Request) {
	var wg sync.WaitGroup
	next := make(chan *Request)
	for range min(s.opts.Concurrency, len(win)) {
		wg.Go(func() {
			for r := range next {
				s.deliver(ctx, r)
			}
		})
	}
	for i := range win {
		next <- &win[i]
	}
	close(next)
	wg.Wait()
}

// deliver sends r until the peer stores it, refuses it for good, it grows
// older than MaxLag or ctx is cancelled.
func (s *sender) deliver(ctx context.Context, r *Request) {
	backoff := s.opts.MinBackoff
	for {
		code, retryAfter, err := s.post(ctx, r)
		switch {
		case err == nil && code/100 == 2:
			s.sentReqs.Add(1)
			s.sentSamples.Add(int64(r.Samples))
			s.recovered()
			return
		case err == nil && code/100 == 4 && code != http.StatusTooManyRequests:
			s.failedReqs.Add(1)
			s.failedSamples.Add(int64(r.Samples))
			s.fo.Logger.Warn("replication: region refused a request, dropped", "region", s.opts.Name, "code", code)
			s.recovered()
			return
		}
		if ctx.Err() != nil {
			return
		}
		s.failing.Store(true)
		if msg := describe(code, err); s.lastErr.Swap(&msg) == nil {
			s.fo.Logger.Warn("replication: region unreachable, retrying", "region", s.opts.Name, "err", msg)
		}
		if s.opts.MaxLag > 0 && r.Enqueued.Before(s.fo.Now().Add(-s.opts.MaxLag)) {
			s.droppedReqs.Add(1)
			s.droppedSamples.Add(int64(r.Samples))
			return
		}
		s.retried.Add(1)
		if !s.sleep(ctx, max(backoff, retryAfter)) {
			return
		}
		backoff = min(2*backoff, s.opts.MaxBackoff)
	}
}

// recovered notes an answer from the peer after failures.
func (s *sender) recovered() {
	s.failing.Store(false)
	if s.lastErr.Swap(nil) != nil {
		s.fo.Logger.Info("replication: region reachable again", "region", s.opts.Name)
	}
}

// post sends r once and returns the status code and Retry-After of the
// answer.
func (s *sender) post(ctx context.Context, r *Request) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.fo.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, 0, fmt.Errorf("forward to %s: %w", s.opts.Name, err)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Version != "" {
		req.Header.Set(versionHeader, r.Version)
	}
	if r.Tenant != "" {
		req.Header.Set(tenant.Header, r.Tenant)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("User-Agent", "gorilla-remote-replication")
	req.Header.Set(ReplicatedFromHeader, s.fo.Region)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("forward to %s: %w", s.opts.Name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // lets the connection be reused
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), s.fo.Now()), nil
}

// versionHeader is the remote-write protocol version header.
const versionHeader = "X-Prometheus-Remote-Write-Version"

// retryAfter parses a Retry-After value, seconds or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

func describe(code int, err error) string {
	if err != nil {
		return err.Error()
	}
	return "HTTP " + strconv.Itoa(code)
}

// sleep waits d, or returns false when ctx is cancelled first.
func (s *sender) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-s.fo.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
