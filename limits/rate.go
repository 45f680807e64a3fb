package limits

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// RateLimiter enforces each tenant's IngestionRate and IngestionBurst with
// one token bucket per tenant. It reads the limits on every call, so a
// reload applies to the next request. It is safe for concurrent use.
type RateLimiter struct {
	ov  *Overrides
	now func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket // guarded by mu
}

// bucket is one tenant's token bucket.
type bucket struct {
	tokens float64 // may be negative: the debt of a request larger than the burst
	last   time.Time
}

// NewRateLimiter returns a rate limiter over ov's limits; now is its clock
// (nil means time.Now).
func NewRateLimiter(ov *Overrides, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{ov: ov, now: now, buckets: map[string]*bucket{}}
}

// Allow takes n samples from tenant's bucket. It returns nil when they may
// be ingested, or an *Error wrapping ErrRateLimited and the time after
// which a retry of the same n can pass. Nothing is taken on a refusal. A
// tenant without an ingestion rate is never limited.
func (r *RateLimiter) Allow(tenant string, n int) (time.Duration, error) {
	l := r.ov.For(tenant)
	if l.IngestionRate <= 0 || n <= 0 {
		return 0, nil
	}
	burst := float64(l.IngestionBurst)
	if burst <= 0 {
		burst = l.IngestionRate
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[tenant]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		r.buckets[tenant] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+elapsed.Seconds()*l.IngestionRate)
		b.last = now
	}
	b.tokens = math.Min(b.tokens, burst) // the burst may have shrunk on reload
	// A request larger than the burst passes only on a full bucket, so that
	// it is not refused for ever; its debt keeps the average at the rate.
	need := math.Min(float64(n), burst)
	if b.tokens >= need {
		b.tokens -= float64(n)
		return 0, nil
	}
	wait := time.Duration(math.Ceil((need - b.tokens) / l.IngestionRate * float64(time.Second)))
	return wait, &Error{
		Reason: ReasonRateLimited,
		Msg: fmt.Sprintf("ingestion rate limit of %g samples/s (burst %g) exceeded by a request of %d samples; retry after %v",
			l.IngestionRate, burst, n, wait.Round(time.Millisecond)),
		Err: ErrRateLimited,
	}
}
