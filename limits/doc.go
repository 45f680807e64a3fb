// Package limits holds the per-tenant limits that shed load before it harms
// the server, and the small state machines that enforce them.
//
// A tenant is a string id; until multi-tenancy exists every request belongs
// to Anonymous. Limits are looked up per tenant on every use, so a reload
// takes effect on the next request:
//
//	ov, err := limits.NewOverrides(limits.Defaults(), "/etc/limits.yml")
//	rate := limits.NewRateLimiter(ov, time.Now)
//	series := limits.NewSeriesTracker(ov, limits.NewMemoryGuard(limit, limits.MemoryGuardOptions{}))
//	headLimiter := series.ForTenant(limits.Anonymous) // head.Options.Limiter
//	...
//	err = ov.Reload() // on SIGHUP: the old limits stay on a bad file
//
// The package knows nothing of HTTP: it returns errors that callers test
// with errors.Is (model.ErrSeriesLimit, model.ErrMemoryLimit, ErrRateLimited)
// and errors.As (*Error, for the reason), and remote maps them to status
// codes. docs/limits.md lists every limit with its flag, YAML key, default,
// status code and metric.
package limits
