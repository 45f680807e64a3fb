package remote

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// appendResult counts what one request stored and refused.
type appendResult struct {
	samples int // float samples appended (0 when the commit failed)
	// histograms counts the native histogram samples appended (0 when the
	// commit failed).
	histograms int
	exemplars  int // exemplars appended (0 when the commit failed)
	rejected   int // samples refused for client reasons, histograms included
	// reasons counts rejected samples by reason, for the metrics.
	reasons map[string]int
	// examples holds the first refused series of each reason, for the log.
	examples map[string]string
	// first describes the first refused series, for the response body.
	first string
	// transient is set when a refusal may pass on a retry (the memory
	// limit): the answer is then 503, not 400.
	transient bool
}

// reject records that n samples of the series ls were refused.
func (res *appendResult) reject(ls []labelRef, reason, msg string, n int) {
	if n == 0 {
		return
	}
	if res.rejected == 0 {
		res.first = fmt.Sprintf("series %s: %s", formatLabels(ls), truncateMessage(msg, maxReasonBytes))
	}
	res.rejected += n
	if res.reasons == nil {
		res.reasons = map[string]int{}
		res.examples = map[string]string{}
	}
	if _, ok := res.examples[reason]; !ok {
		res.examples[reason] = formatLabels(ls)
	}
	res.reasons[reason] += n
}

// store appends st.batch to a new appender and commits it. Samples refused
// for client reasons do not stop the others: they are counted in the result
// and turned into a 400 after the commit.
func (h *writeHandler) store(st *writeState) (appendResult, *httpError) {
	var res appendResult
	app, err := h.appender(st.tenant)
	if err != nil {
		return appendResult{}, storeError("append", err)
	}
	err = h.appendBatch(app, st, &res)
	if err == nil {
		err = h.appendMetadata(app, st)
	}
	if err != nil {
		if rerr := app.Rollback(); rerr != nil {
			h.opts.Logger.Warn("roll back remote-write appender", slog.Any("err", rerr))
		}
		return appendResult{}, storeError("append", err)
	}
	if err := app.Commit(); err != nil {
		return appendResult{}, storeError("commit", err)
	}
	h.metrics.samplesIngested.Add(float64(res.samples + res.histograms))
	h.metrics.exemplarsIngested.Add(float64(res.exemplars))
	h.countRejected(st.tenant, &res)
	switch {
	case res.transient:
		// Samples for existing series were stored; a retry stores the rest
		// once memory is freed and the stored ones again harmlessly.
		return res, errorf(http.StatusServiceUnavailable, "%s; %d samples rejected in total", res.first, res.rejected)
	case res.rejected > 0:
		return res, errorf(http.StatusBadRequest, "%s; %d samples rejected in total", res.first, res.rejected)
	}
	return res, nil
}

// countRejected counts the refused samples by reason and tenant, and logs
// each reason at most once per tenant per rejectLogInterval, with an
// example series.
func (h *writeHandler) countRejected(tenant string, res *appendResult) {
	for reason, n := range res.reasons {
		h.metrics.samplesRejected.WithLabelValues(reason, tenant).Add(float64(n))
		if h.logs.Allow(tenant, reason) {
			h.opts.Logger.Warn("remote write samples refused", slog.String("tenant", tenant),
				slog.String("reason", reason), slog.Int("samples", n), slog.String("example_series", res.examples[reason]))
		}
	}
}

// storeError maps a store error that ends the request to its status: 503
// when the store is closing, its WAL cannot write for now (a full disk: the
// sender should retry elsewhere or later), a cluster write has no quorum
// (model.ErrNoQuorum) or a replica's memory guard refused new series; 400 when a replica of the cluster refused samples
// for client reasons (model.ErrRejected) or a window was sealed meanwhile;
// 500 otherwise.
func storeError(op string, err error) *httpError {
	if errors.Is(err, model.ErrClosed) || errors.Is(err, model.ErrUnavailable) {
		return errorf(http.StatusServiceUnavailable, "%s: store unavailable: %v", op, err)
	}
	if errors.Is(err, model.ErrNoQuorum) {
		// A cluster write without its quorum: the sender retries.
		return errorf(http.StatusServiceUnavailable, "%s: %v", op, err)
	}
	if errors.Is(err, model.ErrMemoryLimit) {
		// A replica's memory guard: transient, the sender retries.
		return errorf(http.StatusServiceUnavailable, "%s: %v", op, err)
	}
	if errors.Is(err, model.ErrRejected) {
		// Samples a replica refused for client reasons; the others of the
		// request are stored.
		return errorf(http.StatusBadRequest, "%s: %v", op, err)
	}
	if errors.Is(err, model.ErrOutOfWindow) {
		// Samples for a window sealed while the request was in flight; the
		// rest of the request is stored.
		return errorf(http.StatusBadRequest, "%s: %v", op, err)
	}
	return errorf(http.StatusInternalServerError, "%s: %v", op, err)
}

// sampleReason returns the reject reason of a per-sample store error, or ""
// when err must end the request.
func sampleReason(err error) string {
	switch {
	case errors.Is(err, model.ErrOutOfWindow):
		return reasonOutOfWindow
	case errors.Is(err, model.ErrDuplicateSample):
		return reasonDuplicate
	case errors.Is(err, model.ErrInvalidLabels):
		return reasonInvalidLabels
	case errors.Is(err, model.ErrTimestampOutOfRange):
		return reasonTimestampOutOfRange
	case errors.Is(err, model.ErrSeriesLimit), errors.Is(err, model.ErrMemoryLimit):
		var le *limits.Error
		if errors.As(err, &le) {
			return le.Reason
		}
		if errors.Is(err, model.ErrMemoryLimit) {
			return limits.ReasonMemoryLimit
		}
		return limits.ReasonSeriesLimit
	}
	return ""
}

// seriesRefused reports whether err refuses the series itself (a limit on
// its creation), so that its other samples are refused without asking.
func seriesRefused(err error) bool {
	return errors.Is(err, model.ErrSeriesLimit) || errors.Is(err, model.ErrMemoryLimit)
}

// appendBatch appends every valid series of st.batch. It returns an error
// only for store failures that end the request.
func (h *writeHandler) appendBatch(app Appender, st *writeState, res *appendResult) error {
	b := &st.batch
	maxT := h.opts.Now().Add(h.opts.MaxFutureSkew).UnixMilli()
	for i := range b.series {
		s := &b.series[i]
		ls := b.labels[s.labelsFrom:s.labelsTo]
		nSamples := s.samplesTo - s.samplesFrom
		if s.badSymbol {
			res.reject(ls, reasonInvalidSymbol, "symbol reference out of range", nSamples+s.histograms)
			continue
		}
		if s.refused != "" {
			res.reject(ls, s.refused, refusalMessage(s.refused), nSamples+s.histograms)
			continue
		}
		if nSamples == 0 && s.histograms == 0 && b.rw2 {
			// As Prometheus: remote write 2.0 carries metadata and exemplars
			// inside a series, and one without samples is a sender's bug.
			res.reject(ls, reasonNoSamples, "series holds no sample or histogram", 1)
			continue
		}
		if serr := validateShape(ls, &st.limits); serr != nil {
			res.reject(ls, serr.reason, serr.msg, nSamples+s.histograms)
			continue
		}
		ref := st.lookupPairs(app, ls)
		if ref == 0 {
			if serr := validateUTF8(ls); serr != nil {
				res.reject(ls, serr.reason, serr.msg, nSamples+s.histograms)
				continue
			}
		}
		if nSamples == 0 && s.histograms == 0 && s.exemplarsTo == s.exemplarsFrom {
			continue
		}
		lset := st.labelsFor(ref, s, ls)
		ref, err := h.appendSamples(app, s, ref, b.samples[s.samplesFrom:s.samplesTo], ls, lset, maxT, res)
		if err != nil {
			return err
		}
		if s.histograms > 0 {
			hists := b.hists[s.histsFrom : s.histsFrom+s.histograms]
			if ref, err = h.appendHistograms(app, ref, hists, ls, lset, maxT, res); err != nil {
				return err
			}
		}
		if err := h.appendExemplars(app, st, s, ref, lset, res); err != nil {
			return err
		}
	}
	return nil
}

// pairsLookup is an Appender that finds an existing series by its label
// pairs, without a labels.Labels (the head's). LookupPairs returns 0 when
// it finds none; a ref it returns makes the appender ignore lset in the
// calls that pass the ref until the next lookup.
type pairsLookup interface {
	LookupPairs(ls []labels.Label) model.SeriesRef
}

// lookupPairs returns the ref of an existing series with the sorted labels
// ls, 0 when the store finds none or cannot look series up by their pairs.
func (st *writeState) lookupPairs(app Appender, ls []labelRef) model.SeriesRef {
	pl, ok := app.(pairsLookup)
	if !ok {
		return 0
	}
	st.pairs = st.pairs[:0]
	for _, l := range ls {
		if l.value != "" { // absent, as buildLabels drops it
			st.pairs = append(st.pairs, labels.Label{Name: l.name, Value: l.value})
		}
	}
	return pl.LookupPairs(st.pairs)
}

// labelsFor returns the label set to pass to the store with ref for the
// valid, sorted labels ls. A series the store found by its pairs needs none
// for its samples, the common case of a steady stream; one with
// histograms or exemplars, or not found, gets it built in st.lset.
func (st *writeState) labelsFor(ref model.SeriesRef, s *seriesRef, ls []labelRef) labels.Labels {
	if ref != 0 && s.histograms == 0 && s.exemplarsTo == s.exemplarsFrom {
		return labels.EmptyLabels()
	}
	return overwriteLabels(&st.builder, ls, &st.lset)
}

// appendSamples appends the samples of one valid series, starting from
// ref (0 if unknown), and returns its ref.
func (h *writeHandler) appendSamples(app Appender, s *seriesRef, ref model.SeriesRef, samples []sampleRef, ls []labelRef, lset labels.Labels, maxT int64, res *appendResult) (model.SeriesRef, error) {
	var lastCT int64
	for i, smp := range samples {
		if msg := checkSampleTime(smp.t); msg != "" {
			res.reject(ls, reasonTimestampOutOfRange, msg, 1)
			continue
		}
		if smp.t > maxT {
			res.reject(ls, reasonFuture, fmt.Sprintf("sample timestamp %d is more than %v in the future", smp.t, h.opts.MaxFutureSkew), 1)
			continue
		}
		ct := smp.st
		if ct == 0 {
			ct = s.ct
		}
		if h.opts.CreatedTimestampZeroIngestion && ct > 0 && ct < smp.t && ct != lastCT {
			lastCT = ct
			r, err := app.Append(ref, lset, ct, 0)
			// The zero may already be stored (a retry) or be too old: it is
			// a hint, so only errors that end the request count.
			if err != nil && sampleReason(err) == "" {
				return ref, err
			}
			ref = r
		}
		r, err := app.Append(ref, lset, smp.t, smp.v)
		if err != nil {
			reason := sampleReason(err)
			if reason == "" {
				return ref, err
			}
			if seriesRefused(err) {
				res.transient = res.transient || errors.Is(err, model.ErrMemoryLimit)
				res.reject(ls, reason, err.Error(), len(samples)-i)
				return 0, nil
			}
			res.reject(ls, reason, fmt.Sprintf("sample at %d: %v", smp.t, err), 1)
		} else {
			res.samples++
		}
		ref = r
	}
	return ref, nil
}

// appendExemplars appends the exemplars of one valid series. Exemplars are
// best effort, as in Prometheus: a refused one is counted and logged but
// does not fail the request.
func (h *writeHandler) appendExemplars(app Appender, st *writeState, s *seriesRef, ref model.SeriesRef, lset labels.Labels, res *appendResult) error {
	b := &st.batch
	for _, e := range b.exemplars[s.exemplarsFrom:s.exemplarsTo] {
		els := b.exLabels[e.labelsFrom:e.labelsTo]
		if !validExemplarLabels(els) {
			h.metrics.exemplarsRejected.Inc()
			continue
		}
		ex := model.Exemplar{Labels: buildLabels(&st.exBuilder, sortedCopy(els)), T: e.t, V: e.v}
		if _, err := app.AppendExemplar(ref, lset, ex); err != nil {
			if errors.Is(err, model.ErrClosed) {
				return err
			}
			h.metrics.exemplarsRejected.Inc()
			h.opts.Logger.Debug("exemplar refused", slog.String("series", lset.String()), slog.Any("err", err))
			continue
		}
		res.exemplars++
	}
	return nil
}

// validExemplarLabels reports whether an exemplar's labels are valid UTF-8
// with non-empty names.
func validExemplarLabels(ls []labelRef) bool {
	for _, l := range ls {
		if l.name == "" || !validUTF8(l.name) || !validUTF8(l.value) {
			return false
		}
	}
	return true
}

// sortedCopy returns ls sorted by name; ls is sorted in place, as it is
// request-local.
func sortedCopy(ls []labelRef) []labelRef {
	for i := 1; i < len(ls); i++ {
		if ls[i].name < ls[i-1].name {
			sortLabelRefs(ls)
			break
		}
	}
	return ls
}

// appendMetadata passes the request's metadata to the store. Like
// exemplars, metadata is best effort: only a closed store fails the request.
func (h *writeHandler) appendMetadata(app Appender, st *writeState) error {
	b := &st.batch
	clear(st.families)
	update := func(family string, m metadataRef) error {
		if family == "" {
			return nil
		}
		if _, seen := st.families[family]; seen {
			return nil
		}
		md := model.Metadata{Type: metricType(m.typ), Help: strings.Clone(m.help), Unit: strings.Clone(m.unit)}
		family = strings.Clone(family)
		st.families[family] = struct{}{}
		h.metrics.metadataUpdates.Inc()
		err := app.UpdateMetadata(family, md)
		if err != nil && !errors.Is(err, model.ErrClosed) {
			h.opts.Logger.Debug("metadata refused", slog.String("family", family), slog.Any("err", err))
			return nil
		}
		return err
	}
	for _, m := range b.metadata {
		if err := update(m.family, m); err != nil {
			return err
		}
	}
	for i := range b.series {
		s := &b.series[i]
		if !s.hasMeta || s.badSymbol {
			continue
		}
		if err := update(metricName(b.labels[s.labelsFrom:s.labelsTo]), s.meta); err != nil {
			return err
		}
	}
	return nil
}

// metricName returns the value of __name__ in ls, or "".
func metricName(ls []labelRef) string {
	for _, l := range ls {
		if l.name == labels.MetricName {
			return l.value
		}
	}
	return ""
}

// sampleCount returns the samples of the batch, float and histogram: what
// the ingestion rate counts.
func (r *writeBatch) sampleCount() int {
	n := len(r.samples)
	for i := range r.series {
		n += r.series[i].histograms
	}
	return n
}

// appender returns a fresh appender of the tenant's store: through
// TenantAppender when the store holds many tenants, Appender otherwise.
func (h *writeHandler) appender(tenant string) (Appender, error) {
	if ta, ok := h.app.(TenantAppendable); ok {
		app, err := ta.TenantAppender(tenant)
		if err != nil {
			return nil, fmt.Errorf("store of tenant %s: %w", tenant, err)
		}
		return app, nil
	}
	return h.app.Appender(), nil
}
