package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrors bounds Result.Errors; errBodyPrefix bounds the body kept per
// error.
const (
	maxErrors     = 10
	errBodyPrefix = 200
)

// Run sends rounds [from, to) and waits for every answer. Failed requests
// (transport errors and non-2xx answers) are counted, not retried. The error
// is non-nil only for a bad range or when ctx ends before everything is
// sent; the Result then covers what was sent.
func (w *Workload) Run(ctx context.Context, from, to int) (Result, error) {
	if from < 0 || to > w.rounds || from > to {
		return Result{}, fmt.Errorf("%w: [%d, %d) of %d rounds", errRange, from, to, w.rounds)
	}
	st := &runState{start: time.Now()}
	stop := make(chan struct{})
	var progress sync.WaitGroup
	if w.cfg.Progress != nil {
		progress.Go(func() { st.report(w.cfg.Progress, stop) })
	}
	var wg sync.WaitGroup
	lat := make([][]time.Duration, len(w.senders))
	for s := range w.senders {
		wg.Go(func() { lat[s] = w.send(ctx, st, &w.senders[s], from, to) })
	}
	wg.Wait()
	close(stop)
	progress.Wait()

	res := st.result(slices.Concat(lat...))
	if w.cfg.Progress != nil {
		w.cfg.Progress(st.progress())
	}
	return res, ctx.Err()
}

// send posts one sender's requests of rounds [from, to) in order and
// returns their latencies.
func (w *Workload) send(ctx context.Context, st *runState, s *sender, from, to int) []time.Duration {
	reqs := s.reqs[s.first[from]:s.first[to]]
	lat := make([]time.Duration, 0, len(reqs))
	for _, r := range reqs {
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		msg := w.post(ctx, r.body)
		lat = append(lat, time.Since(t0))
		st.requests.Add(1)
		if msg != "" {
			st.failed.Add(1)
			st.addError(msg)
			continue
		}
		st.samples.Add(int64(r.samples))
	}
	return lat
}

// post sends one body and returns "" on a 2xx answer, else a description
// of the failure.
func (w *Workload) post(ctx context.Context, body []byte) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	for k, vs := range w.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "gorilla-remote-bench")
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return ""
	}
	prefix, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyPrefix))
	_, _ = io.Copy(io.Discard, resp.Body)
	return strconv.Itoa(resp.StatusCode) + " " + string(bytes.TrimSpace(prefix))
}

// runState is shared by the senders of one Run.
type runState struct {
	start                     time.Time
	requests, failed, samples atomic.Int64
	mu                        sync.Mutex
	errors                    []string // guarded by mu
}

func (st *runState) addError(msg string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.errors) < maxErrors && !slices.Contains(st.errors, msg) {
		st.errors = append(st.errors, msg)
	}
}

func (st *runState) progress() Progress {
	return Progress{
		Requests: st.requests.Load(),
		Failed:   st.failed.Load(),
		Samples:  st.samples.Load(),
		Elapsed:  time.Since(st.start),
	}
}

func (st *runState) report(f func(Progress), stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			f(st.progress())
		}
	}
}

func (st *runState) result(lat []time.Duration) Result {
	p := st.progress()
	st.mu.Lock()
	errs := slices.Clone(st.errors)
	st.mu.Unlock()
	res := Result{Requests: p.Requests, Failed: p.Failed, Samples: p.Samples, Elapsed: p.Elapsed, Errors: errs}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50 = percentile(lat, 0.50)
		res.P99 = percentile(lat, 0.99)
		res.Max = lat[len(lat)-1]
	}
	return res
}

// percentile returns the nearest-rank q-quantile of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	k := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}
