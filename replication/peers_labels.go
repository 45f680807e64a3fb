package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// maxAPIBody bounds a peer's JSON answer.
const maxAPIBody = 256 << 20

// peerLabels answers the label questions of both queriers.
type peerLabels struct {
	p          *PeerQueryable
	mint, maxt int64
}

// LabelNames implements storage.LabelQuerier: the union of the peers'
// label names, sorted. hints.Limit, when set, cuts the sorted list.
func (q *peerLabels) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.list(ctx, PathLabels, hints, ms)
}

// LabelValues implements storage.LabelQuerier: the union of the peers'
// values of name, sorted. hints.Limit, when set, cuts the sorted list.
func (q *peerLabels) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	// Names that are not legacy names travel escaped (U__ prefix), as
	// Prometheus clients send them.
	escaped := model.EscapeName(name, model.ValueEncodingEscaping)
	return q.list(ctx, fmt.Sprintf(PathLabelValues, url.PathEscape(escaped)), hints, ms)
}

// Close implements storage.LabelQuerier; it holds nothing.
func (q *peerLabels) Close() error { return nil }

// list asks every peer for the string list at path and merges the lists.
func (q *peerLabels) list(ctx context.Context, path string, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
	params := url.Values{}
	params.Set("start", formatTime(q.mint))
	params.Set("end", formatTime(q.maxt))
	if len(ms) > 0 {
		params.Set("match[]", selector(ms))
	}
	limit := 0
	if hints != nil && hints.Limit > 0 {
		limit = hints.Limit
		params.Set("limit", strconv.Itoa(limit))
	}
	lists, annos := fanOut(ctx, q.p, "labels", func(ctx context.Context, base string) ([]string, error) {
		var out []string
		err := q.p.getJSON(ctx, base+path+"?"+params.Encode(), &out)
		return out, err
	})
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, annos, nil
}

// formatTime formats a millisecond timestamp as the API's seconds.
func formatTime(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}

// selector writes ms as a PromQL series selector, {a="b",c=~"d"}.
func selector(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// apiEnvelope is the Prometheus API answer around its data.
type apiEnvelope struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

// getJSON GETs a Prometheus API endpoint of a peer and decodes its data
// into out.
func (p *PeerQueryable) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	p.setTenant(req)
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", req.URL.Path, err)
	}
	defer drain(resp.Body)
	if err := statusError(resp); err != nil {
		return fmt.Errorf("get %s: %w", req.URL.Path, err)
	}
	var env apiEnvelope
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIBody)).Decode(&env); err != nil {
		return fmt.Errorf("get %s: decode answer: %w", req.URL.Path, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("get %s: status %q: %s", req.URL.Path, env.Status, env.Error)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("get %s: decode data: %w", req.URL.Path, err)
	}
	return nil
}
