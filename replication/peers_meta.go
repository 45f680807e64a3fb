package replication

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// MetadataSource is the local store's metric metadata (a head has it).
type MetadataSource interface {
	Metadata() map[string]model.Metadata
}

// ExemplarSource is the local store's exemplars (a head has it): those of
// the series matching ms in [mint, maxt], sorted by series labels.
type ExemplarSource interface {
	Exemplars(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]model.SeriesExemplars, error)
}

// PeerMetadata is the metadata of the whole cluster: the local source's
// merged with the peers' (GET /internal/v1/metadata). It has the method
// set of a MetadataSource, so the query API takes it in place of the
// head's.
type PeerMetadata struct {
	peers *PeerQueryable
	local MetadataSource
}

// NewPeerMetadata returns the cluster's metadata over local and the peers
// of p; local may be nil.
func NewPeerMetadata(p *PeerQueryable, local MetadataSource) *PeerMetadata {
	return &PeerMetadata{peers: p, local: local}
}

// metadataEntry is one entry of the /metadata answer.
type metadataEntry struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// Metadata returns every metric family known locally or to a reachable
// peer. A family known in several places keeps the local entry, else the
// first peer's in ring order. Peers that fail are logged and left out:
// the interface has no room for a warning, and metadata is advisory.
// Each peer is given PeerOptions.Timeout.
func (m *PeerMetadata) Metadata() map[string]model.Metadata {
	out := map[string]model.Metadata{}
	if m.local != nil {
		for k, v := range m.local.Metadata() {
			out[k] = v
		}
	}
	lists, annos := fanOut(context.Background(), m.peers, "metadata", func(ctx context.Context, base string) (map[string][]metadataEntry, error) {
		var got map[string][]metadataEntry
		err := m.peers.getJSON(ctx, base+PathMetadata, &got)
		return got, err
	})
	for _, l := range lists {
		for name, entries := range l {
			if _, ok := out[name]; ok || len(entries) == 0 {
				continue
			}
			e := entries[0]
			out[name] = model.Metadata{Type: e.Type, Help: e.Help, Unit: e.Unit}
		}
	}
	if len(annos) > 0 {
		m.peers.opts.Logger.Warn("metadata of the cluster is partial", slog.Any("warnings", annos.AsErrors()))
	}
	return out
}

// PeerExemplars are the exemplars of the whole cluster: the local
// source's merged with the peers' (GET /internal/v1/query_exemplars). It
// has the method set of an ExemplarSource, so the query API takes it in
// place of the head's.
type PeerExemplars struct {
	peers *PeerQueryable
	local ExemplarSource
}

// NewPeerExemplars returns the cluster's exemplars over local and the
// peers of p; local may be nil.
func NewPeerExemplars(p *PeerQueryable, local ExemplarSource) *PeerExemplars {
	return &PeerExemplars{peers: p, local: local}
}

// exemplarsJSON is one series of the /query_exemplars answer.
type exemplarsJSON struct {
	SeriesLabels map[string]string `json:"seriesLabels"`
	Exemplars    []struct {
		Labels    map[string]string `json:"labels"`
		Value     string            `json:"value"`
		Timestamp json.Number       `json:"timestamp"`
	} `json:"exemplars"`
}

// Exemplars returns the exemplars of the series matching ms in
// [mint, maxt], locally and on the reachable peers, sorted by series
// labels; an exemplar held by several replicas (same timestamp, value and
// labels) is listed once, and a series' exemplars are in time order. A
// local error is returned; peers that fail are logged and left out.
func (e *PeerExemplars) Exemplars(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]model.SeriesExemplars, error) {
	var all []model.SeriesExemplars
	if e.local != nil {
		local, err := e.local.Exemplars(ctx, mint, maxt, ms...)
		if err != nil {
			return nil, fmt.Errorf("local exemplars: %w", err)
		}
		all = append(all, local...)
	}
	params := url.Values{}
	params.Set("query", selector(ms))
	params.Set("start", formatTime(mint))
	params.Set("end", formatTime(maxt))
	lists, annos := fanOut(ctx, e.peers, "exemplars", func(ctx context.Context, base string) ([]model.SeriesExemplars, error) {
		var got []exemplarsJSON
		if err := e.peers.getJSON(ctx, base+PathExemplars+"?"+params.Encode(), &got); err != nil {
			return nil, err
		}
		return fromExemplarsJSON(got)
	})
	for _, l := range lists {
		all = append(all, l...)
	}
	if len(annos) > 0 {
		e.peers.opts.Logger.Warn("exemplars of the cluster are partial", slog.Any("warnings", annos.AsErrors()))
	}
	return mergeExemplars(all), nil
}

// fromExemplarsJSON converts a peer's answer.
func fromExemplarsJSON(in []exemplarsJSON) ([]model.SeriesExemplars, error) {
	out := make([]model.SeriesExemplars, 0, len(in))
	for _, s := range in {
		se := model.SeriesExemplars{Labels: labels.FromMap(s.SeriesLabels)}
		for _, x := range s.Exemplars {
			v, err := strconv.ParseFloat(x.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("exemplar of %s: value %q: %w", se.Labels, x.Value, err)
			}
			sec, err := x.Timestamp.Float64()
			if err != nil {
				return nil, fmt.Errorf("exemplar of %s: timestamp %q: %w", se.Labels, x.Timestamp, err)
			}
			se.Exemplars = append(se.Exemplars, model.Exemplar{Labels: labels.FromMap(x.Labels), T: int64(math.Round(sec * 1000)), V: v})
		}
		out = append(out, se)
	}
	return out, nil
}

// mergeExemplars joins the entries of one series, sorts series by labels
// and each series' exemplars by time, and drops repeated exemplars.
func mergeExemplars(all []model.SeriesExemplars) []model.SeriesExemplars {
	slices.SortStableFunc(all, func(a, b model.SeriesExemplars) int { return labels.Compare(a.Labels, b.Labels) })
	var out []model.SeriesExemplars
	for _, se := range all {
		if n := len(out); n > 0 && labels.Equal(out[n-1].Labels, se.Labels) {
			out[n-1].Exemplars = append(out[n-1].Exemplars, se.Exemplars...)
			continue
		}
		out = append(out, model.SeriesExemplars{Labels: se.Labels, Exemplars: slices.Clone(se.Exemplars)})
	}
	for i := range out {
		xs := out[i].Exemplars
		slices.SortStableFunc(xs, func(a, b model.Exemplar) int {
			return cmp.Or(cmp.Compare(a.T, b.T), cmp.Compare(a.V, b.V), labels.Compare(a.Labels, b.Labels))
		})
		out[i].Exemplars = slices.CompactFunc(xs, func(a, b model.Exemplar) bool {
			return a.T == b.T && model.SameValue(a.V, b.V) && labels.Equal(a.Labels, b.Labels)
		})
	}
	return out
}
