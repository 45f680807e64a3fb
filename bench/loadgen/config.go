package loadgen

import (
	"net/http"
	"time"
)

// Defaults applied by Prepare to zero Config fields.
const (
	DefaultSamplesPerRequest = 2000
	DefaultSenders           = 4
	DefaultInterval          = 15 * time.Second
)

// Config describes a workload and how to send it.
type Config struct {
	// URL is the remote-write 1.0 endpoint, e.g.
	// http://127.0.0.1:9201/api/v1/write.
	URL string
	// Series is the number of active series (synthetic mode).
	Series int
	// Rounds is the number of samples per series: round r carries one
	// sample of every series.
	Rounds int
	// SamplesPerRequest bounds the samples of one request. Default 2000.
	SamplesPerRequest int
	// Senders is the number of concurrent senders. Default 4.
	Senders int
	// Interval is the timestamp step between rounds. Default 15s.
	Interval time.Duration
	// Start is the timestamp of round 0; zero means now - Rounds*Interval,
	// truncated to the millisecond.
	Start time.Time
	// FirstRound is the round of the series that round 0 of the workload
	// carries the values of (default 0): round r sends the values of round
	// FirstRound+r at Start + r*Interval. A load too long to hold in memory
	// is prepared as workloads of a few rounds each, every one starting
	// where the previous ended, and its counters keep counting across them.
	FirstRound int
	// Header holds extra headers set on every request (optional).
	Header http.Header
	// Client sends the requests; nil means a client with one idle
	// connection per sender.
	Client *http.Client
	// Progress, if set, is called about once per second while Run runs and
	// once at its end.
	Progress func(Progress)
}

func (c Config) withDefaults() Config {
	if c.SamplesPerRequest <= 0 {
		c.SamplesPerRequest = DefaultSamplesPerRequest
	}
	if c.Senders <= 0 {
		c.Senders = DefaultSenders
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Start.IsZero() {
		c.Start = time.Now().Add(-time.Duration(c.Rounds) * c.Interval).Truncate(time.Millisecond)
	}
	if c.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = c.Senders
		tr.MaxIdleConns = max(tr.MaxIdleConns, c.Senders)
		c.Client = &http.Client{Transport: tr, Timeout: time.Minute}
	}
	return c
}

// Progress is a snapshot of a running Run.
type Progress struct {
	Requests, Failed, Samples int64
	Elapsed                   time.Duration
}

// Result sums up a Run.
type Result struct {
	Requests, Failed int64
	// Samples counts acknowledged samples (2xx answers only).
	Samples int64
	Elapsed time.Duration
	// Request latency percentiles over all requests, failed ones included.
	P50, P99, Max time.Duration
	// Errors holds up to 10 distinct failure messages: the status and the
	// start of the body, or the transport error.
	Errors []string
}

// SamplesPerSecond returns the acknowledged samples per second of elapsed
// time, or 0 if nothing elapsed.
func (r Result) SamplesPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Samples) / r.Elapsed.Seconds()
}
