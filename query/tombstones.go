package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/gorilla-remote/gorilla-remote/tenant"

	"github.com/prometheus/prometheus/model/labels"
)

// AnonymousTenant is the tenant of every tombstone while the store serves
// one tenant: tombstones are keyed by tenant so that per-tenant deletes
// need no change of format.
const AnonymousTenant = tenant.Anonymous

// TombstonesFile is the name of the tombstones file under the storage
// directory (docs/format/tombstones.md).
const TombstonesFile = "tombstones.json"

// tombstonesVersion is the version of the file format; part of the format.
const tombstonesVersion = 1

// ErrBadTombstones is wrapped by the errors of a tombstones file that does
// not decode or holds an invalid tombstone.
var ErrBadTombstones = errors.New("bad tombstones file")

// Tombstone deletes the samples in [Mint, Maxt] (milliseconds, both
// inclusive) of every series of Tenant that matches all of Matchers.
type Tombstone struct {
	Tenant   string
	Matchers []*labels.Matcher
	Mint     int64
	Maxt     int64
}

// matches reports whether the tombstone deletes from series lset of tenant.
func (t Tombstone) matches(tenant string, lset labels.Labels) bool {
	if t.Tenant != tenant {
		return false
	}
	for _, m := range t.Matchers {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// Tombstones is the durable list of deletions that every read of a
// Queryable honours (see WithTombstones). Add persists before it returns,
// so a deletion answered is a deletion kept across restarts. Safe for
// concurrent use.
type Tombstones struct {
	path  string // "" keeps the tombstones in memory only
	write sync.Mutex

	mu   sync.RWMutex
	list []Tombstone // guarded by mu; replaced, never changed in place
}

// OpenTombstones reads dir/TombstonesFile, or starts an empty list when the
// file does not exist. dir "" keeps the tombstones in memory only (tests,
// embedding). A file that does not decode fails with ErrBadTombstones.
func OpenTombstones(dir string) (*Tombstones, error) {
	ts := &Tombstones{}
	if dir == "" {
		return ts, nil
	}
	ts.path = filepath.Join(dir, TombstonesFile)
	data, err := os.ReadFile(ts.path)
	if errors.Is(err, os.ErrNotExist) {
		return ts, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tombstones: %w", err)
	}
	if ts.list, err = DecodeTombstones(data); err != nil {
		return nil, fmt.Errorf("%s: %w", ts.path, err)
	}
	return ts, nil
}

// Add appends tombstones and writes the whole list to the file (atomically:
// a temporary file, fsync, rename, fsync of the directory) before readers
// see them. On error nothing is added. Each tombstone needs a tenant, at
// least one matcher and Mint <= Maxt.
func (ts *Tombstones) Add(ctx context.Context, add ...Tombstone) error {
	for _, t := range add {
		if err := validTombstone(t); err != nil {
			return err
		}
	}
	return ts.update(ctx, func(old []Tombstone) []Tombstone {
		return append(slices.Clip(old), add...)
	})
}

// List returns the tombstones, oldest first. The slice must not be changed.
func (ts *Tombstones) List() []Tombstone {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.list
}

// Path is the file the tombstones are kept in; "" when in memory only.
func (ts *Tombstones) Path() string { return ts.path }

// update writes fn(list) and makes it the list.
func (ts *Tombstones) update(ctx context.Context, fn func([]Tombstone) []Tombstone) error {
	ts.write.Lock()
	defer ts.write.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	next := fn(ts.List())
	if ts.path != "" {
		if err := writeFileAtomic(ts.path, EncodeTombstones(next)); err != nil {
			return fmt.Errorf("write tombstones: %w", err)
		}
	}
	ts.mu.Lock()
	ts.list = next
	ts.mu.Unlock()
	return nil
}

// intervals returns the deleted intervals of series lset of tenant that
// overlap [mint, maxt], sorted and merged; nil when none. ts may be nil.
func (ts *Tombstones) intervals(tenant string, lset labels.Labels, mint, maxt int64) []interval {
	if ts == nil {
		return nil
	}
	var out []interval
	for _, t := range ts.List() {
		if t.Maxt >= mint && t.Mint <= maxt && t.matches(tenant, lset) {
			out = append(out, interval{t.Mint, t.Maxt})
		}
	}
	return mergeIntervals(out)
}

func validTombstone(t Tombstone) error {
	switch {
	case t.Tenant == "":
		return fmt.Errorf("%w: tombstone without a tenant", ErrBadTombstones)
	case len(t.Matchers) == 0:
		return fmt.Errorf("%w: tombstone without matchers", ErrBadTombstones)
	case t.Mint > t.Maxt:
		return fmt.Errorf("%w: tombstone from %d to %d ends before it starts", ErrBadTombstones, t.Mint, t.Maxt)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either
// the old file or the new one, whole.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// fileTombstones is the JSON file (docs/format/tombstones.md).
type fileTombstones struct {
	Version    int             `json:"version"`
	Tombstones []fileTombstone `json:"tombstones"`
}

type fileTombstone struct {
	Tenant   string        `json:"tenant"`
	Matchers []fileMatcher `json:"matchers"`
	Mint     int64         `json:"mint"`
	Maxt     int64         `json:"maxt"`
}

type fileMatcher struct {
	Type  string `json:"type"` // "=", "!=", "=~" or "!~"
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EncodeTombstones returns the file form of list.
func EncodeTombstones(list []Tombstone) []byte {
	f := fileTombstones{Version: tombstonesVersion, Tombstones: make([]fileTombstone, 0, len(list))}
	for _, t := range list {
		ft := fileTombstone{Tenant: t.Tenant, Mint: t.Mint, Maxt: t.Maxt, Matchers: make([]fileMatcher, 0, len(t.Matchers))}
		for _, m := range t.Matchers {
			ft.Matchers = append(ft.Matchers, fileMatcher{Type: m.Type.String(), Name: m.Name, Value: m.Value})
		}
		f.Tombstones = append(f.Tombstones, ft)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic("BUG: encode tombstones: " + err.Error())
	}
	return append(data, '\n')
}

// matchType maps a matcher type of the file to the matchers'.
func matchType(s string) (labels.MatchType, bool) {
	for _, t := range []labels.MatchType{labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp} {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

// DecodeTombstones parses the file form. Anything that is not a valid file
// of a known version fails with an error wrapping ErrBadTombstones.
func DecodeTombstones(data []byte) ([]Tombstone, error) {
	var f fileTombstones
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTombstones, err)
	}
	if f.Version != tombstonesVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadTombstones, f.Version, tombstonesVersion)
	}
	out := make([]Tombstone, 0, len(f.Tombstones))
	for i, ft := range f.Tombstones {
		t := Tombstone{Tenant: ft.Tenant, Mint: ft.Mint, Maxt: ft.Maxt}
		for _, fm := range ft.Matchers {
			typ, ok := matchType(fm.Type)
			if !ok {
				return nil, fmt.Errorf("%w: tombstone %d: matcher type %q", ErrBadTombstones, i, fm.Type)
			}
			m, err := labels.NewMatcher(typ, fm.Name, fm.Value)
			if err != nil {
				return nil, fmt.Errorf("%w: tombstone %d: %v", ErrBadTombstones, i, err)
			}
			t.Matchers = append(t.Matchers, m)
		}
		if err := validTombstone(t); err != nil {
			return nil, fmt.Errorf("tombstone %d: %w", i, err)
		}
		out = append(out, t)
	}
	return out, nil
}
