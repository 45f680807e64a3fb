package head

import (
	"log/slog"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// outOfRange counts the data a replay skipped because its timestamp lies
// outside [model.MinTime, model.MaxTime]. Heads that did not check the range
// yet logged such samples; replaying them would poison the head's time
// bounds and window arithmetic, so they are dropped, counted and reported
// once the replay is done.
type outOfRange struct {
	samples, chunks, exemplars int
	// The first skipped item: its series and timestamp.
	firstSeries string
	firstT      int64
}

// keep reports whether the timestamp t of series s may be replayed, and
// counts it in *n otherwise.
func (o *outOfRange) keep(h *Head, s *memSeries, t int64, n *int) bool {
	if model.ValidTime(t) {
		return true
	}
	if o.samples+o.chunks+o.exemplars == 0 {
		var b labels.ScratchBuilder
		o.firstSeries, o.firstT = h.syms.labels(s.lset, &b).String(), t
	}
	*n++
	return false
}

// report logs what was skipped, if anything.
func (o *outOfRange) report(log *slog.Logger) {
	if o.samples+o.chunks+o.exemplars == 0 {
		return
	}
	log.Warn("WAL replay skipped data with timestamps out of range",
		"samples", o.samples, "chunks", o.chunks, "exemplars", o.exemplars,
		"min_time", model.MinTime, "max_time", model.MaxTime,
		"first_series", o.firstSeries, "first_timestamp", o.firstT)
}

// merge adds the counts of p (a replay worker's) to o, keeping the first
// skipped item o saw, or else p's.
func (o *outOfRange) merge(p *outOfRange) {
	if o.samples+o.chunks+o.exemplars == 0 {
		o.firstSeries, o.firstT = p.firstSeries, p.firstT
	}
	o.samples += p.samples
	o.chunks += p.chunks
	o.exemplars += p.exemplars
}
