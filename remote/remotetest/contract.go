package remotetest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/remote"
)

// Store is one implementation under test, opened empty for each check.
type Store struct {
	// Appendable is the store under test. Required.
	remote.Appendable
	// Samples returns the committed float samples of the series lset, in
	// any order; none and no error for a series the store does not hold.
	// Required.
	Samples func(lset labels.Labels) ([]model.Sample, error)
	// Close closes the store; from then on Append or Commit fail with an
	// error matching model.ErrClosed. Nil skips that check.
	Close func() error
}

// Check is one clause of the contract.
type Check struct {
	// Name says the clause, as the subtest name.
	Name string
	// Run returns nil when s keeps the clause, an error saying how it
	// breaks it otherwise, or ErrSkip when s cannot be checked for it.
	Run func(s Store) error
}

// ErrSkip is returned by a Check that does not apply to the store (such as
// the closed-store clause for a Store without Close).
var ErrSkip = errors.New("remotetest: clause does not apply to this store")

// Checks returns the clauses of the remote.Appender contract, each run on a
// freshly opened store.
func Checks() []Check {
	return []Check{
		{"commit makes samples readable", checkCommit},
		{"uncommitted samples are not readable", checkUncommitted},
		{"rollback discards the batch", checkRollback},
		{"returned ref finds the series", checkRefs},
		{"series labels are copied", checkLabelsCopied},
		{"an exact retry is accepted once", checkRetry},
		{"another value at a stored timestamp is a duplicate", checkDuplicate},
		{"empty labels are refused", checkEmptyLabels},
		{"timestamps outside the range are refused", checkTimeRange},
		{"exemplars and metadata are accepted", checkExemplarsMetadata},
		{"concurrent appenders", checkConcurrent},
		{"a closed store refuses writes", checkClosed},
	}
}

// TestAppendable runs every check of Checks as a subtest, each on a store
// open returns. open may register cleanups on its t.
func TestAppendable(t *testing.T, open func(t *testing.T) Store) {
	t.Helper()
	for _, c := range Checks() {
		t.Run(c.Name, func(t *testing.T) {
			s := open(t)
			if s.Appendable == nil || s.Samples == nil {
				t.Fatal("remotetest: Store needs Appendable and Samples")
			}
			err := c.Run(s)
			if errors.Is(err, ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// staleNaN is the stale marker, which must be stored bit for bit.
var staleNaN = math.Float64frombits(model.StaleNaN)

// smp is shorthand for a sample.
func smp(t int64, v float64) model.Sample { return model.Sample{T: t, V: v} }

// appendSeries appends samples to lset, passing each returned ref to the
// next Append, and returns the last ref.
func appendSeries(app remote.Appender, lset labels.Labels, samples ...model.Sample) (model.SeriesRef, error) {
	var ref model.SeriesRef
	for _, s := range samples {
		r, err := app.Append(ref, lset, s.T, s.V)
		if err != nil {
			return r, fmt.Errorf("append %s at %d: %w", lset, s.T, err)
		}
		ref = r
	}
	return ref, nil
}

// commitSeries appends samples to lset in a new appender and commits.
func commitSeries(s Store, lset labels.Labels, samples ...model.Sample) error {
	app := s.Appender()
	if _, err := appendSeries(app, lset, samples...); err != nil {
		_ = app.Rollback()
		return err
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// expect returns an error unless the store holds exactly want for lset
// (compared by time, values bit for bit).
func expect(s Store, lset labels.Labels, want ...model.Sample) error {
	got, err := s.Samples(lset)
	if err != nil {
		return fmt.Errorf("read %s: %w", lset, err)
	}
	got = slices.Clone(got)
	slices.SortFunc(got, func(a, b model.Sample) int { return cmp.Compare(a.T, b.T) })
	if !slices.EqualFunc(got, want, func(a, b model.Sample) bool { return a.T == b.T && model.SameValue(a.V, b.V) }) {
		return fmt.Errorf("series %s: got samples %v, want %v", lset, got, want)
	}
	return nil
}

// expectErr returns an error unless err matches target.
func expectErr(what string, err, target error) error {
	if !errors.Is(err, target) {
		return fmt.Errorf("%s: got error %v, want one matching %q", what, err, target)
	}
	return nil
}
