package head

import (
	"maps"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// exemplarRing keeps the most recent exemplars of one series, at most its
// capacity; older ones are overwritten.
type exemplarRing struct {
	buf  []model.Exemplar
	next int // index the next exemplar goes to once buf is full
}

func (r *exemplarRing) add(e model.Exemplar, capacity int) {
	for _, x := range r.buf {
		if x.T == e.T && model.SameValue(x.V, e.V) && labels.Equal(x.Labels, e.Labels) {
			return // a retried request
		}
	}
	if len(r.buf) < capacity {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
}

// inRange returns the exemplars with mint <= T <= maxt, sorted by time.
func (r *exemplarRing) inRange(mint, maxt int64) []model.Exemplar {
	var out []model.Exemplar
	for _, e := range r.buf {
		if e.T >= mint && e.T <= maxt {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b model.Exemplar) int { return int(min(max(a.T-b.T, -1), 1)) })
	return out
}

func (h *Head) addExemplar(e exemplarRecord) {
	s := h.series.getByRef(e.Ref)
	if s == nil {
		return
	}
	s.mu.Lock()
	s.exemplarsOrNew().add(e.E, h.opts.MaxExemplarsPerSeries)
	s.mu.Unlock()
}

func (h *Head) setMetadata(ms []metadataRecord) {
	if len(ms) == 0 {
		return
	}
	h.metaMu.Lock()
	for _, m := range ms {
		h.meta[m.Family] = m.Meta
	}
	h.metaMu.Unlock()
}

// Metadata returns the latest metadata of every metric family.
func (h *Head) Metadata() map[string]model.Metadata {
	h.metaMu.RLock()
	defer h.metaMu.RUnlock()
	return maps.Clone(h.meta)
}
