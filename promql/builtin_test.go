package promql

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// headStorage is a storage.Storage that appends into a head in a temporary
// directory and queries it through the query package, for the upstream
// PromQL test scripts.
type headStorage struct {
	*query.Queryable
	storage.Appendable // the scripts use AppenderV2 only; calling this panics
	h                  *head.Head
}

func newHeadStorage(t testing.TB) storage.Storage {
	h, err := head.Open(head.Options{
		Dir:                 t.TempDir(),
		MaintenanceInterval: -1,
		// The scripts load series far behind ones loaded earlier.
		OutOfOrderWindow: 100 * 365 * 24 * time.Hour,
		Retention:        100 * 365 * 24 * time.Hour,
	})
	require.NoError(t, err)
	return &headStorage{Queryable: query.New(h), h: h}
}

func (s *headStorage) AppenderV2(context.Context) storage.AppenderV2 {
	return &headAppenderV2{a: s.h.Appender()}
}

func (s *headStorage) StartTime() (int64, error) { return 0, nil }

func (s *headStorage) Close() error { return s.h.Close() }

type headAppenderV2 struct{ a *head.Appender }

func (a *headAppenderV2) Append(ref storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, _ storage.AppendV2Options) (storage.SeriesRef, error) {
	_ = ref // our refs differ from the caller's; look up by labels
	if h != nil || fh != nil {
		// The head keeps the histogram and may change it: give it a copy.
		if h != nil {
			h = h.Copy()
		}
		if fh != nil {
			fh = fh.Copy()
		}
		r, err := a.a.AppendHistogram(0, ls, t, h, fh)
		return storage.SeriesRef(r), err
	}
	r, err := a.a.Append(0, ls, t, v)
	return storage.SeriesRef(r), err
}

func (a *headAppenderV2) Commit() error   { return a.a.Commit() }
func (a *headAppenderV2) Rollback() error { return a.a.Rollback() }

// skipScript names the upstream scripts our storage cannot run, and why.
var skipScript = map[string]string{
	"testdata/start_timestamps.test": "start timestamps are not stored: rate and increase cannot use them",
}

type skippingT struct{ *testing.T }

func (s skippingT) Run(name string, f func(*testing.T)) bool {
	return s.T.Run(name, func(t *testing.T) {
		if why, ok := skipScript[name]; ok {
			t.Skip(why)
		}
		f(t)
	})
}

// TestUpstreamScripts runs the prometheus module's PromQL test scripts
// against our head and query path.
func TestUpstreamScripts(t *testing.T) {
	eng := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	promqltest.RunBuiltinTestsWithStorage(skippingT{t}, eng, newHeadStorage)
}
