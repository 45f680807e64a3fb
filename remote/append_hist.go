package remote

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// appendHistograms appends the native histograms of one valid series and
// returns its ref. A histogram that fails validation is refused alone (400
// naming the series), as Prometheus refuses it; the others go on.
func (h *writeHandler) appendHistograms(app Appender, ref model.SeriesRef, hists []histRef, ls []labelRef, lset labels.Labels, maxT int64, res *appendResult) (model.SeriesRef, error) {
	for i, hr := range hists {
		if msg := checkSampleTime(hr.t); msg != "" {
			res.reject(ls, reasonTimestampOutOfRange, msg, 1)
			continue
		}
		if hr.t > maxT {
			res.reject(ls, reasonFuture, fmt.Sprintf("histogram timestamp %d is more than %v in the future", hr.t, h.opts.MaxFutureSkew), 1)
			continue
		}
		if err := validateHistogram(hr); err != nil {
			res.reject(ls, reasonInvalidHistogram, fmt.Sprintf("histogram at %d: %v", hr.t, err), 1)
			continue
		}
		r, err := app.AppendHistogram(ref, lset, hr.t, hr.h, hr.fh)
		if err != nil {
			reason := sampleReason(err)
			if reason == "" {
				return ref, err
			}
			if seriesRefused(err) {
				res.transient = res.transient || errors.Is(err, model.ErrMemoryLimit)
				res.reject(ls, reason, err.Error(), len(hists)-i)
				return 0, nil
			}
			res.reject(ls, reason, fmt.Sprintf("histogram at %d: %v", hr.t, err), 1)
		} else {
			res.histograms++
		}
		ref = r
	}
	return ref, nil
}

// validateHistogram applies Prometheus's checks to a decoded histogram:
// spans and buckets agree, counts are not negative, the count covers the
// buckets, the schema is a standard one or custom buckets with valid bounds.
// A schema finer than the finest standard one (9 to 52, which newer senders
// may use) is first reduced to it, in place, as Prometheus does.
func validateHistogram(hr histRef) error {
	switch {
	case hr.fh != nil:
		if hr.fh.Schema > histogram.ExponentialSchemaMax && hr.fh.Schema <= histogram.ExponentialSchemaMaxReserved {
			if err := hr.fh.ReduceResolution(histogram.ExponentialSchemaMax); err != nil {
				return fmt.Errorf("reduce schema %d: %w", hr.fh.Schema, err)
			}
		}
		return hr.fh.Validate()
	case hr.h != nil:
		if hr.h.Schema > histogram.ExponentialSchemaMax && hr.h.Schema <= histogram.ExponentialSchemaMaxReserved {
			if err := hr.h.ReduceResolution(histogram.ExponentialSchemaMax); err != nil {
				return fmt.Errorf("reduce schema %d: %w", hr.h.Schema, err)
			}
		}
		return hr.h.Validate()
	}
	return errors.New("histogram without counts")
}
