package remotetest

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

var (
	seriesA = labels.FromStrings("__name__", "up", "job", "a")
	seriesB = labels.FromStrings("__name__", "up", "job", "b")
)

// checkCommit: committed samples of several series are stored, values bit
// for bit (the stale marker included).
func checkCommit(s Store) error {
	app := s.Appender()
	if _, err := appendSeries(app, seriesA, smp(1000, 1), smp(2000, 2), smp(3000, staleNaN)); err != nil {
		return err
	}
	if _, err := appendSeries(app, seriesB, smp(1000, -0.5)); err != nil {
		return err
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := expect(s, seriesA, smp(1000, 1), smp(2000, 2), smp(3000, staleNaN)); err != nil {
		return err
	}
	return expect(s, seriesB, smp(1000, -0.5))
}

// checkUncommitted: an appender buffers its samples until Commit.
func checkUncommitted(s Store) error {
	app := s.Appender()
	if _, err := appendSeries(app, seriesA, smp(1000, 1)); err != nil {
		return err
	}
	if err := expect(s, seriesA); err != nil {
		return fmt.Errorf("before Commit: %w", err)
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return expect(s, seriesA, smp(1000, 1))
}

// checkRollback: Rollback drops the batch and the store takes the next one.
func checkRollback(s Store) error {
	app := s.Appender()
	if _, err := appendSeries(app, seriesA, smp(1000, 1)); err != nil {
		return err
	}
	if err := app.Rollback(); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	if err := expect(s, seriesA); err != nil {
		return fmt.Errorf("after Rollback: %w", err)
	}
	if err := commitSeries(s, seriesA, smp(2000, 2)); err != nil {
		return err
	}
	return expect(s, seriesA, smp(2000, 2))
}

// checkRefs: the ref Append returns, passed back with the same labels,
// reaches the same series, also when series are interleaved.
func checkRefs(s Store) error {
	app := s.Appender()
	refA, err := app.Append(0, seriesA, 1000, 1)
	if err != nil {
		return fmt.Errorf("append a: %w", err)
	}
	refB, err := app.Append(0, seriesB, 1000, 10)
	if err != nil {
		return fmt.Errorf("append b: %w", err)
	}
	for i, step := range []struct {
		ref  *model.SeriesRef
		lset labels.Labels
		v    float64
	}{{&refA, seriesA, 2}, {&refB, seriesB, 20}, {&refA, seriesA, 3}} {
		r, err := app.Append(*step.ref, step.lset, int64(2000+1000*i), step.v)
		if err != nil {
			return fmt.Errorf("append %s with ref %d: %w", step.lset, *step.ref, err)
		}
		*step.ref = r
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := expect(s, seriesA, smp(1000, 1), smp(2000, 2), smp(4000, 3)); err != nil {
		return err
	}
	return expect(s, seriesB, smp(1000, 10), smp(3000, 20))
}

// checkLabelsCopied: the handler reuses the memory of the series labels
// for the next series (labels.ScratchBuilder.Overwrite), so a store must
// copy the labels it keeps.
func checkLabelsCopied(s Store) error {
	var b labels.ScratchBuilder
	var lset labels.Labels
	app := s.Appender()
	for i, job := range []string{"x", "y"} {
		b.Reset()
		b.Add("__name__", "reused")
		b.Add("job", job)
		b.Overwrite(&lset)
		if _, err := app.Append(0, lset, 1000, float64(i)); err != nil {
			return fmt.Errorf("append job=%s: %w", job, err)
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := expect(s, labels.FromStrings("__name__", "reused", "job", "x"), smp(1000, 0)); err != nil {
		return err
	}
	return expect(s, labels.FromStrings("__name__", "reused", "job", "y"), smp(1000, 1))
}

// checkRetry: sending committed samples again (same time, same bits) is
// accepted without an error and stores nothing twice.
func checkRetry(s Store) error {
	samples := []model.Sample{smp(1000, 1), smp(2000, staleNaN)}
	for i := range 2 {
		if err := commitSeries(s, seriesA, samples...); err != nil {
			return fmt.Errorf("attempt %d: %w", i+1, err)
		}
	}
	return expect(s, seriesA, samples...)
}

// checkDuplicate: another value at a committed timestamp (another NaN than
// the stored stale marker included) is refused with model.ErrDuplicateSample
// for that sample only; the ref returned with the error still works.
func checkDuplicate(s Store) error {
	if err := commitSeries(s, seriesA, smp(1000, 1), smp(2000, staleNaN)); err != nil {
		return err
	}
	app := s.Appender()
	ref, err := app.Append(0, seriesA, 1000, 2)
	if err := expectErr("another value at 1000", err, model.ErrDuplicateSample); err != nil {
		return err
	}
	_, err = app.Append(0, seriesA, 2000, math.NaN())
	if err := expectErr("a plain NaN over the stale marker", err, model.ErrDuplicateSample); err != nil {
		return err
	}
	if _, err := app.Append(ref, seriesA, 3000, 3); err != nil {
		return fmt.Errorf("append with the ref returned beside the duplicate error: %w", err)
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return expect(s, seriesA, smp(1000, 1), smp(2000, staleNaN), smp(3000, 3))
}

// checkEmptyLabels: a sample without labels is refused with
// model.ErrInvalidLabels; the rest of the batch is stored.
func checkEmptyLabels(s Store) error {
	app := s.Appender()
	_, err := app.Append(0, labels.EmptyLabels(), 1000, 1)
	if err := expectErr("empty labels", err, model.ErrInvalidLabels); err != nil {
		return err
	}
	if _, err := appendSeries(app, seriesA, smp(1000, 1)); err != nil {
		return err
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return expect(s, seriesA, smp(1000, 1))
}

// checkTimeRange: a timestamp outside [model.MinTime, model.MaxTime] is
// refused with model.ErrTimestampOutOfRange; the rest of the batch is
// stored.
func checkTimeRange(s Store) error {
	app := s.Appender()
	for _, t := range []int64{model.MaxTime + 1, math.MaxInt64, model.MinTime - 1, math.MinInt64} {
		_, err := app.Append(0, seriesA, t, 1)
		if err := expectErr(fmt.Sprintf("timestamp %d", t), err, model.ErrTimestampOutOfRange); err != nil {
			return err
		}
	}
	if _, err := appendSeries(app, seriesA, smp(1000, 1)); err != nil {
		return err
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return expect(s, seriesA, smp(1000, 1))
}

// checkExemplarsMetadata: a valid exemplar and a metric family's metadata
// are taken beside the samples without an error.
func checkExemplarsMetadata(s Store) error {
	app := s.Appender()
	ref, err := appendSeries(app, seriesA, smp(1000, 1))
	if err != nil {
		return err
	}
	ex := model.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), T: 1000, V: 1}
	if _, err := app.AppendExemplar(ref, seriesA, ex); err != nil {
		return fmt.Errorf("append exemplar: %w", err)
	}
	if err := app.UpdateMetadata("up", model.Metadata{Type: "gauge", Help: "Whether the target is up.", Unit: ""}); err != nil {
		return fmt.Errorf("update metadata: %w", err)
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return expect(s, seriesA, smp(1000, 1))
}

// checkConcurrent: appenders used by concurrent requests, on distinct and
// on shared series, each store their whole batch (run it with -race). The
// shared series gets its samples in commit order, so up to three seconds
// out of order: inside any out-of-order window the store accepts.
func checkConcurrent(s Store) error {
	const writers, perWriter = 4, 50
	shared := labels.FromStrings("__name__", "shared")
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			app := s.Appender()
			for i := range perWriter {
				own := labels.FromStrings("__name__", "own", "writer", fmt.Sprint(w), "i", fmt.Sprint(i))
				if _, err := appendSeries(app, own, smp(1000, float64(i))); err != nil {
					errs[w] = err
					return
				}
			}
			if _, err := appendSeries(app, shared, smp(int64(1000*(w+1)), float64(w))); err != nil {
				errs[w] = err
				return
			}
			errs[w] = app.Commit()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var want []model.Sample
	for w := range writers {
		want = append(want, smp(int64(1000*(w+1)), float64(w)))
		for i := range perWriter {
			own := labels.FromStrings("__name__", "own", "writer", fmt.Sprint(w), "i", fmt.Sprint(i))
			if err := expect(s, own, smp(1000, float64(i))); err != nil {
				return err
			}
		}
	}
	return expect(s, shared, want...)
}

// checkClosed: once the store is closed, a write fails with
// model.ErrClosed at Append or at Commit.
func checkClosed(s Store) error {
	if s.Close == nil {
		return ErrSkip
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	app := s.Appender()
	_, err := app.Append(0, seriesA, 1000, 1)
	if err == nil {
		err = app.Commit()
	} else {
		_ = app.Rollback()
	}
	return expectErr("write after Close", err, model.ErrClosed)
}
