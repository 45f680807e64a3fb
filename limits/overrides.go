package limits

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync/atomic"

	"go.yaml.in/yaml/v2"
)

// Overrides are the limits of every tenant: defaults (from the flags, and
// the config file's defaults section over them) and per-tenant overrides
// from the config file, as in Grafana Mimir's runtime configuration:
//
//	defaults:
//	  max_series: 1000000
//	overrides:
//	  anonymous:
//	    ingestion_rate: 50000
//	    ingestion_burst: 500000
//
// A tenant's override sets only the keys it names; the others keep the
// defaults. Unknown keys and negative values are refused. Overrides are safe
// for concurrent use; For costs an atomic load and a map lookup.
type Overrides struct {
	base Limits // from the flags
	path string
	cur  atomic.Pointer[snapshot]
}

// snapshot is one loaded configuration; it never changes once stored.
type snapshot struct {
	defaults Limits
	tenants  map[string]Limits
}

// NewOverrides returns the overrides with base as the defaults, loading the
// file at path over them unless path is "". It fails when base or the file
// is invalid.
func NewOverrides(base Limits, path string) (*Overrides, error) {
	if err := base.Validate(); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	o := &Overrides{base: base, path: path}
	o.cur.Store(&snapshot{defaults: base})
	if path != "" {
		if err := o.Reload(); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Path returns the config file's path, "" when there is none.
func (o *Overrides) Path() string { return o.path }

// Reload reads the config file again. On any error the limits in force stay
// as they were and the error says what is wrong; without a file Reload does
// nothing.
func (o *Overrides) Reload() error {
	if o.path == "" {
		return nil
	}
	raw, err := os.ReadFile(o.path)
	if err != nil {
		return fmt.Errorf("read limits config: %w", err)
	}
	snap, err := parse(o.base, raw)
	if err != nil {
		return fmt.Errorf("limits config %s: %w", o.path, err)
	}
	o.cur.Store(snap)
	return nil
}

// For returns the limits of tenant: its override if it has one, else the
// defaults.
func (o *Overrides) For(tenant string) Limits {
	s := o.cur.Load()
	if l, ok := s.tenants[tenant]; ok {
		return l
	}
	return s.defaults
}

// Tenants returns the tenants that have an override, sorted.
func (o *Overrides) Tenants() []string {
	s := o.cur.Load()
	out := make([]string, 0, len(s.tenants))
	for t := range s.tenants {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// file is the config file's layout. The sections stay raw so that each is
// applied over its base and sets only the keys it names.
type file struct {
	Defaults  yaml.MapSlice            `yaml:"defaults"`
	Overrides map[string]yaml.MapSlice `yaml:"overrides"`
}

// parse builds a snapshot from the file's content over base.
func parse(base Limits, raw []byte) (*snapshot, error) {
	var f file
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return nil, err
	}
	defaults, err := applyOver(base, f.Defaults)
	if err != nil {
		return nil, fmt.Errorf("defaults: %w", err)
	}
	snap := &snapshot{defaults: defaults, tenants: make(map[string]Limits, len(f.Overrides))}
	for tenant, section := range f.Overrides {
		if tenant == "" {
			return nil, errors.New("overrides: empty tenant id")
		}
		l, err := applyOver(defaults, section)
		if err != nil {
			return nil, fmt.Errorf("overrides for tenant %q: %w", tenant, err)
		}
		snap.tenants[tenant] = l
	}
	return snap, nil
}

// applyOver returns base with the keys of section set, and checks it.
func applyOver(base Limits, section yaml.MapSlice) (Limits, error) {
	if len(section) > 0 {
		raw, err := yaml.Marshal(section)
		if err != nil {
			return base, err
		}
		if err := yaml.UnmarshalStrict(raw, &base); err != nil {
			return base, err
		}
	}
	return base, base.Validate()
}
