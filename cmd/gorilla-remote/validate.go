package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// windowUnit is what a block window must be a whole number of: the finest
// roll-up resolution, so that no roll-up interval straddles two windows
// (docs/rollups.md).
const windowUnit = 5 * time.Minute

// validate refuses the settings the server cannot run with, each error
// naming the flag, or the config key when the value came from the file.
// The storage libraries read a zero limit as their default, so a zero the
// user gives is refused here rather than silently replaced.
func (f *flagSet) validate() error {
	s := &f.s
	var errs []error
	check := func(name string, ok bool, value any, rule string) {
		if !ok {
			errs = append(errs, f.invalid(name, value, rule))
		}
	}
	check("block.duration", s.BlockDuration > 0 && s.BlockDuration%windowUnit == 0, s.BlockDuration,
		"must be a positive whole number of 5m (the finest roll-up resolution)")
	for name, d := range map[string]time.Duration{
		"block.ship-interval": s.BlockShipInterval, "block.sync-interval": s.BlockSyncInterval,
		"block.rollup-interval": s.RollupInterval, "block.compaction-interval": s.CompactionInterval,
		"head.maintenance-interval": s.MaintenanceInterval, "query.lookback-delta": s.LookbackDelta,
		"query.timeout": s.QueryTimeout,
	} {
		check(name, d > 0, d, "must be positive")
	}
	for name, d := range map[string]time.Duration{
		"storage.out-of-order-window": s.OutOfOrderWindow, "head.retention": s.HeadRetention,
		"storage.retention": s.StorageRetention, "storage.retention.raw": s.RawRetention,
		"web.read-timeout": s.ReadTimeout, "web.write-timeout": s.WriteTimeout, "web.idle-timeout": s.IdleTimeout,
	} {
		check(name, d >= 0, d, "must not be negative")
	}
	for name, n := range map[string]int64{
		"query.max-concurrency": int64(s.QueryConcurrency), "query.max-inflight": int64(s.QueryMaxInflight),
		"query.max-samples": int64(s.QueryMaxSamples), "query.max-length": int64(s.QueryMaxLength),
		"remote-write.max-decoded-bytes": int64(s.MaxDecodedBytes), "remote-read.max-samples-per-query": int64(s.MaxSamplesRead),
		"web.max-inflight-writes": int64(s.MaxInflightWrites), "block.cache-size": s.BlockCacheBytes,
	} {
		check(name, n >= 1, n, "must be at least 1")
	}
	check("query.shards", s.QueryShards >= 0, s.QueryShards, "must not be negative (0 means the number of cores, at most 8)")
	check("web.max-connections", s.MaxConnections >= 0, s.MaxConnections, "must not be negative (0 means no limit)")
	if err := checkWebConfig(s.WebConfigFile); err != nil {
		errs = append(errs, f.invalid("web.config.file", s.WebConfigFile, err.Error()))
	}
	for name, n := range map[string]float64{
		"limits.max-series": float64(s.Limits.MaxSeries), "limits.max-series-per-metric": float64(s.Limits.MaxSeriesPerMetric),
		"limits.ingestion-rate": s.Limits.IngestionRate, "limits.ingestion-burst": float64(s.Limits.IngestionBurst),
		"limits.max-label-names-per-series":   float64(s.Limits.MaxLabelNamesPerSeries),
		"limits.max-label-name-length":        float64(s.Limits.MaxLabelNameLength),
		"limits.max-label-value-length":       float64(s.Limits.MaxLabelValueLength),
		"limits.max-fetched-series-per-query": float64(s.Limits.MaxQuerySeries),
	} {
		check(name, n >= 0 && !math.IsInf(n, 1), n, "must be a finite number, not negative (0 means unlimited)")
	}
	errs = append(errs, f.validateCluster()...)
	return errors.Join(sortedErrs(errs)...)
}

// invalid is the error for a refused value of the flag name.
func (f *flagSet) invalid(name string, value any, rule string) error {
	v := fmt.Sprint(value)
	if d, ok := value.(time.Duration); ok && d >= 0 {
		v = model.Duration(d).String()
	}
	if f.fromFile[name] {
		return fmt.Errorf("config key %s: %s in %s: %s", configKey(name), v, f.configFile, rule)
	}
	return fmt.Errorf("--%s=%s: %s", name, v, rule)
}

// sortedErrs orders errs by message, so that the report of several
// refused values does not depend on map order.
func sortedErrs(errs []error) []error {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
