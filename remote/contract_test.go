package remote_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/remote/remotetest"
)

// TestMemStoreContract runs the appender contract against the store the
// handler's tests use, so what they prove holds for a store that keeps the
// contract.
func TestMemStoreContract(t *testing.T) {
	remotetest.TestAppendable(t, func(t *testing.T) remotetest.Store {
		app, samples, closeFn := remote.NewMemStore()
		return remotetest.Store{Appendable: app, Samples: samples, Close: closeFn}
	})
}

// TestContractCatchesBrokenStores proves the contract sharp: a store broken
// in one way fails the clause it breaks.
func TestContractCatchesBrokenStores(t *testing.T) {
	cases := []struct {
		clause string
		broken func(s remotetest.Store) remotetest.Store
	}{
		{"series labels are copied", wrap(func(a remote.Appender) remote.Appender { return &keepsLabels{Appender: a} })},
		{"uncommitted samples are not readable", wrap(func(a remote.Appender) remote.Appender { return &eager{Appender: a} })},
		{"rollback discards the batch", wrap(func(a remote.Appender) remote.Appender { return &eager{Appender: a} })},
		{"returned ref finds the series", wrap(func(a remote.Appender) remote.Appender { return &oneRef{Appender: a} })},
		{"another value at a stored timestamp is a duplicate", wrap(func(a remote.Appender) remote.Appender {
			return &mapErr{Appender: a, from: model.ErrDuplicateSample, to: nil}
		})},
		{"timestamps outside the range are refused", wrap(func(a remote.Appender) remote.Appender {
			return &mapErr{Appender: a, from: model.ErrTimestampOutOfRange, to: errors.New("bad timestamp")}
		})},
		{"an exact retry is accepted once", func(s remotetest.Store) remotetest.Store {
			return wrap(func(a remote.Appender) remote.Appender { return &refusesRetry{Appender: a, samples: s.Samples} })(s)
		}},
		{"a closed store refuses writes", func(s remotetest.Store) remotetest.Store {
			s.Close = func() error { return nil }
			return s
		}},
	}
	for _, c := range cases {
		t.Run(c.clause, func(t *testing.T) {
			i := slices.IndexFunc(remotetest.Checks(), func(ch remotetest.Check) bool { return ch.Name == c.clause })
			if i < 0 {
				t.Fatalf("no clause %q", c.clause)
			}
			app, samples, closeFn := remote.NewMemStore()
			s := c.broken(remotetest.Store{Appendable: app, Samples: samples, Close: closeFn})
			err := remotetest.Checks()[i].Run(s)
			if err == nil || errors.Is(err, remotetest.ErrSkip) {
				t.Fatalf("broken store passed %q: err = %v", c.clause, err)
			}
			t.Logf("caught: %v", err)
		})
	}
}

// wrapStore hands out the appenders of an Appendable wrapped by wrap.
type wrapStore struct {
	remote.Appendable
	wrap func(remote.Appender) remote.Appender
}

func (w wrapStore) Appender() remote.Appender { return w.wrap(w.Appendable.Appender()) }

func wrap(f func(remote.Appender) remote.Appender) func(remotetest.Store) remotetest.Store {
	return func(s remotetest.Store) remotetest.Store {
		s.Appendable = wrapStore{Appendable: s.Appendable, wrap: f}
		return s
	}
}

// keepsLabels buffers samples with the caller's labels, uncopied, until
// Commit.
type keepsLabels struct {
	remote.Appender
	buf []struct {
		lset labels.Labels
		s    model.Sample
	}
}

func (k *keepsLabels) Append(_ model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	k.buf = append(k.buf, struct {
		lset labels.Labels
		s    model.Sample
	}{lset, model.Sample{T: t, V: v}})
	return 0, nil
}

func (k *keepsLabels) Commit() error {
	for _, b := range k.buf {
		if _, err := k.Appender.Append(0, b.lset, b.s.T, b.s.V); err != nil {
			return err
		}
	}
	return k.Appender.Commit()
}

// eager commits every sample at once.
type eager struct{ remote.Appender }

func (e *eager) Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	r, err := e.Appender.Append(ref, lset, t, v)
	if err != nil {
		return r, err
	}
	return r, e.Appender.Commit()
}

// oneRef returns the same ref for every series and resolves it to the
// first series it saw.
type oneRef struct {
	remote.Appender
	first labels.Labels
}

func (o *oneRef) Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	if ref != 0 {
		lset = o.first
	} else if o.first.IsEmpty() {
		o.first = lset.Copy()
	}
	_, err := o.Appender.Append(0, lset, t, v)
	return 1, err
}

// mapErr replaces the error from by to.
type mapErr struct {
	remote.Appender
	from, to error
}

func (m *mapErr) Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	r, err := m.Appender.Append(ref, lset, t, v)
	if errors.Is(err, m.from) {
		err = m.to
	}
	return r, err
}

// refusesRetry refuses a sample at any stored timestamp, same value or not.
type refusesRetry struct {
	remote.Appender
	samples func(labels.Labels) ([]model.Sample, error)
}

func (r *refusesRetry) Append(ref model.SeriesRef, lset labels.Labels, t int64, v float64) (model.SeriesRef, error) {
	stored, err := r.samples(lset)
	if err != nil {
		return ref, err
	}
	if slices.ContainsFunc(stored, func(s model.Sample) bool { return s.T == t }) {
		return ref, model.ErrDuplicateSample
	}
	return r.Appender.Append(ref, lset, t, v)
}
