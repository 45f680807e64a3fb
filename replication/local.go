package replication

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// appendLocal appends batch b of a (nil: none, only the metadata) to this
// node's own store and commits it. The write's metadata always goes here
// too, whole, so the node that took the request knows every family.
func (d *Distributor) appendLocal(a *appender, b *batch) outcome {
	res := outcome{replica: d.opts.Ring.Self().ID}
	if b != nil {
		res.series = b.series
	}
	app, err := d.opts.Local(a.tenant)
	if err != nil {
		res.err = fmt.Errorf("open local store: %w", err)
		return res
	}
	if b != nil {
		if err := appendSeries(app, a, b.series, &res); err != nil {
			if rerr := app.Rollback(); rerr != nil {
				d.opts.Logger.Warn("roll back local appender", slog.Any("err", rerr))
			}
			res.err = err
			return res
		}
	}
	for family, m := range a.metadata {
		if err := app.UpdateMetadata(family, m); err != nil && errors.Is(err, model.ErrClosed) {
			_ = app.Rollback()
			res.err = err
			return res
		}
	}
	if err := app.Commit(); err != nil {
		res.err = err
		return res
	}
	res.stored = true
	return res
}

// appendSeries appends the given series of a to app. Samples the store
// refuses for client reasons are noted in res, as a replica's 400 would
// be; any other error ends the batch and is returned.
func appendSeries(app Appender, a *appender, series []int, res *outcome) error {
	for _, i := range series {
		s := &a.list[i]
		var ref model.SeriesRef
		refused := 0
		var first error
		n := len(s.samples) + len(s.hists)
		for k := 0; k < n; k++ {
			var (
				r   model.SeriesRef
				err error
			)
			if k < len(s.samples) {
				r, err = app.Append(ref, s.lset, s.samples[k].t, s.samples[k].v)
			} else {
				// The store may change the histogram it keeps while the
				// same one is encoded for the other replicas: it gets a
				// copy.
				hs := s.hists[k-len(s.samples)]
				r, err = app.AppendHistogram(ref, s.lset, hs.t, copyInt(hs.h), copyFloat(hs.fh))
			}
			ref = r
			if err == nil {
				continue
			}
			if !clientRefusal(err) {
				return fmt.Errorf("series %s: %w", s.lset, err)
			}
			if first == nil {
				first = err
			}
			refused++
			if errors.Is(err, model.ErrSeriesLimit) || errors.Is(err, model.ErrMemoryLimit) {
				refused += n - k - 1
				break // the series itself is refused
			}
		}
		if first != nil {
			res.transient = res.transient || errors.Is(first, model.ErrMemoryLimit)
			if res.rejected == "" {
				res.rejected = fmt.Sprintf("series %s: %v; %d samples of it refused", s.lset, first, refused)
			}
			if errors.Is(first, model.ErrSeriesLimit) || errors.Is(first, model.ErrMemoryLimit) {
				continue
			}
		}
		for _, e := range s.exemplars {
			if _, err := app.AppendExemplar(ref, s.lset, e); err != nil && errors.Is(err, model.ErrClosed) {
				return err
			}
		}
	}
	return nil
}

// clientRefusal reports whether err refuses a sample or its series for the
// client's reasons, leaving the rest of the write to go on.
func clientRefusal(err error) bool {
	for _, e := range []error{model.ErrOutOfWindow, model.ErrDuplicateSample, model.ErrInvalidLabels,
		model.ErrTimestampOutOfRange, model.ErrSeriesLimit, model.ErrMemoryLimit} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// copyInt and copyFloat copy a histogram that may be nil.
func copyInt(h *histogram.Histogram) *histogram.Histogram {
	if h == nil {
		return nil
	}
	return h.Copy()
}

func copyFloat(fh *histogram.FloatHistogram) *histogram.FloatHistogram {
	if fh == nil {
		return nil
	}
	return fh.Copy()
}
