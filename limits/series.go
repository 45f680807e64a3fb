package limits

import (
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// SeriesTracker counts each tenant's active series, in total and per metric
// name, and enforces MaxSeries, MaxSeriesPerMetric and the memory guard
// when a series is about to be created. The store tells it about every
// series it holds (see TenantSeries). It is safe for concurrent use.
type SeriesTracker struct {
	ov    *Overrides
	guard *MemoryGuard // nil: no memory limit

	mu      sync.Mutex
	tenants map[string]*seriesCounts // guarded by mu
}

// seriesCounts are one tenant's active series.
type seriesCounts struct {
	total int
	// perMetric holds a counter per metric name, so that counting a
	// series changes it in place with one lookup.
	perMetric map[string]*int
}

// NewSeriesTracker returns a tracker over ov's limits; guard may be nil.
func NewSeriesTracker(ov *Overrides, guard *MemoryGuard) *SeriesTracker {
	return &SeriesTracker{ov: ov, guard: guard, tenants: map[string]*seriesCounts{}}
}

// Admit asks whether tenant may have one more series with lset. On nil the
// series is counted: the caller must Remove it once it is gone or if it was
// not created after all. Otherwise the error is an *Error wrapping
// model.ErrMemoryLimit (heap in use at the guard's limit: a transient
// refusal) or model.ErrSeriesLimit (a series limit reached), and nothing
// is counted. lset is not kept.
func (t *SeriesTracker) Admit(tenant string, lset labels.Labels) error {
	if t.guard != nil {
		if err := t.guard.Check(); err != nil {
			return err
		}
	}
	l := t.ov.For(tenant)
	name := lset.Get(labels.MetricName)
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.counts(tenant)
	if l.MaxSeries > 0 && c.total >= l.MaxSeries {
		return &Error{
			Reason: ReasonSeriesLimit,
			Msg:    fmt.Sprintf("per-tenant series limit of %d exceeded", l.MaxSeries),
			Err:    model.ErrSeriesLimit,
		}
	}
	if l.MaxSeriesPerMetric > 0 && c.metric(name) >= l.MaxSeriesPerMetric {
		return &Error{
			Reason: ReasonSeriesPerMetricLimit,
			Msg:    fmt.Sprintf("per-metric series limit of %d exceeded for metric %q", l.MaxSeriesPerMetric, name),
			Err:    model.ErrSeriesLimit,
		}
	}
	c.add(name, 1)
	return nil
}

// Add counts a series of tenant without asking: one the store already held
// (replayed from its WAL) or must hold (for samples already accepted).
func (t *SeriesTracker) Add(tenant string, lset labels.Labels) {
	name := lset.Get(labels.MetricName)
	t.mu.Lock()
	t.counts(tenant).add(name, 1)
	t.mu.Unlock()
}

// Remove stops counting a series of tenant that Admit or Add counted.
func (t *SeriesTracker) Remove(tenant string, lset labels.Labels) {
	name := lset.Get(labels.MetricName)
	t.mu.Lock()
	t.counts(tenant).add(name, -1)
	t.mu.Unlock()
}

// Series returns tenant's active series count.
func (t *SeriesTracker) Series(tenant string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.tenants[tenant]; c != nil {
		return c.total
	}
	return 0
}

// ActiveSeries returns every tenant's active series count.
func (t *SeriesTracker) ActiveSeries() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.tenants))
	for tenant, c := range t.tenants {
		out[tenant] = c.total
	}
	return out
}

// Guard returns the tracker's memory guard, nil when it has none.
func (t *SeriesTracker) Guard() *MemoryGuard { return t.guard }

// counts returns tenant's counts, creating them. The caller holds t.mu.
func (t *SeriesTracker) counts(tenant string) *seriesCounts {
	c := t.tenants[tenant]
	if c == nil {
		c = &seriesCounts{perMetric: map[string]*int{}}
		t.tenants[tenant] = c
	}
	return c
}

// add changes the counts by d for a series of metric name.
func (c *seriesCounts) add(name string, d int) {
	c.total = max(0, c.total+d)
	p := c.perMetric[name]
	switch {
	case p != nil && *p+d <= 0:
		delete(c.perMetric, name)
	case p != nil:
		*p += d
	case d > 0:
		n := d // the caller's labels are reused after the call: copy name
		c.perMetric[strings.Clone(name)] = &n
	}
}

// metric returns the active series of metric name.
func (c *seriesCounts) metric(name string) int {
	if p := c.perMetric[name]; p != nil {
		return *p
	}
	return 0
}

// ForTenant returns the tracker bound to one tenant, in the shape the head
// asks for (head.SeriesLimiter).
func (t *SeriesTracker) ForTenant(tenant string) TenantSeries {
	return TenantSeries{t: t, tenant: tenant}
}

// TenantSeries is a SeriesTracker bound to one tenant.
type TenantSeries struct {
	t      *SeriesTracker
	tenant string
}

// AdmitSeries is SeriesTracker.Admit for the bound tenant.
func (ts TenantSeries) AdmitSeries(lset labels.Labels) error { return ts.t.Admit(ts.tenant, lset) }

// AddSeries is SeriesTracker.Add for the bound tenant.
func (ts TenantSeries) AddSeries(lset labels.Labels) { ts.t.Add(ts.tenant, lset) }

// RemoveSeries is SeriesTracker.Remove for the bound tenant.
func (ts TenantSeries) RemoveSeries(lset labels.Labels) { ts.t.Remove(ts.tenant, lset) }
