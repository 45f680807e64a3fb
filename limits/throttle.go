package limits

import (
	"sync"
	"time"
)

// LogThrottle lets through at most one event per key (a tenant and a
// reason) per interval, so that refusals are logged without the log
// growing with the load being shed. It is safe for concurrent use.
type LogThrottle struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	last map[[2]string]time.Time // guarded by mu
}

// NewLogThrottle returns a throttle passing one event per key per every;
// now is its clock (nil means time.Now).
func NewLogThrottle(every time.Duration, now func() time.Time) *LogThrottle {
	if now == nil {
		now = time.Now
	}
	return &LogThrottle{every: every, now: now, last: map[[2]string]time.Time{}}
}

// Allow reports whether an event for tenant and reason may be logged now,
// and if so starts a new interval for them.
func (t *LogThrottle) Allow(tenant, reason string) bool {
	now := t.now()
	key := [2]string{tenant, reason}
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[key]; ok && now.Sub(last) < t.every {
		return false
	}
	t.last[key] = now
	return true
}
