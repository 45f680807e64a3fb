package promql

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	gmodel "github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// Bounds used when start or end is not given: every sample a store can
// hold.
const (
	minTimeMs = gmodel.MinTime
	maxTimeMs = gmodel.MaxTime
)

// The upstream engine converts evaluation times with time.Time.UnixNano,
// which holds the years 1678 to 2262 only; beyond them its timestamps wrap
// around. Evaluation times are clamped to this span, in milliseconds. The
// data a query reads is not: ranges, offsets and the @ modifier reach
// further.
const (
	minEvalMs = math.MinInt64 / int64(time.Millisecond)
	maxEvalMs = math.MaxInt64 / int64(time.Millisecond)
)

// evalTime clamps an evaluation time, in ms, to what the engine can hold.
func evalTime(ms int64) int64 { return min(max(ms, minEvalMs), maxEvalMs) }

// evalTimeOf is evalTime for a time.Time.
func evalTimeOf(t time.Time) time.Time {
	if ms := t.UnixMilli(); ms != evalTime(ms) {
		return time.UnixMilli(evalTime(ms))
	}
	return t
}

// Prometheus's API spells its "unbounded" times like this (RFC 3339 with
// years of nine digits, which time.Parse refuses), and clients that talk to
// it, such as promtool and Thanos, send them back.
const (
	promMinTimeFormatted = "-292273086-05-16T16:47:06Z"
	promMaxTimeFormatted = "292277025-08-18T07:12:54.999999999Z"
)

// parseTime reads a timestamp as float Unix seconds (negative allowed:
// Grafana's health check asks for time=4 with a lookback reaching below
// zero) or RFC 3339, and returns milliseconds. Times beyond the range the
// store accepts are clamped to it, so any "since the beginning of time" a
// client spells reaches every sample; NaN and infinities are refused.
func parseTime(s string) (int64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		// Compared as floats before converting: a float beyond int64
		// has no defined conversion.
		switch {
		case f*1000 <= float64(minTimeMs):
			return minTimeMs, nil
		case f*1000 >= float64(maxTimeMs):
			return maxTimeMs, nil
		}
		// Prometheus keeps millisecond precision: round the fraction.
		sec, frac := math.Modf(f)
		return gmodel.ClampTime(int64(sec)*1000 + int64(math.Round(frac*1000))), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return gmodel.ClampTime(t.UnixMilli()), nil
	}
	switch s {
	case promMinTimeFormatted:
		return minTimeMs, nil
	case promMaxTimeFormatted:
		return maxTimeMs, nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration reads float seconds or a Prometheus duration such as 5m.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d := f * float64(time.Second)
		if math.IsNaN(d) || d >= math.MaxInt64 || d < math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(d), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// timeParam reads the named time parameter, or def when absent.
func timeParam(r *http.Request, name string, def int64) (int64, *apiError) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return 0, badData("invalid parameter %q: %v", name, err)
	}
	return t, nil
}

// timeRange reads start and end, defaulting to all time.
func timeRange(r *http.Request) (int64, int64, *apiError) {
	start, aerr := timeParam(r, "start", minTimeMs)
	if aerr != nil {
		return 0, 0, aerr
	}
	end, aerr := timeParam(r, "end", maxTimeMs)
	if aerr != nil {
		return 0, 0, aerr
	}
	if end < start {
		return 0, 0, badData("invalid parameter \"end\": end timestamp must not be before start time")
	}
	return start, end, nil
}

// limitParam reads limit: 0 (or absent) means no limit.
func limitParam(r *http.Request) (int, *apiError) {
	v := r.FormValue("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badData("invalid parameter \"limit\": %q is not a non-negative integer", v)
	}
	return n, nil
}

// matchersParam parses every match[] selector.
func matchersParam(r *http.Request, p parser.Parser) ([][]*labels.Matcher, *apiError) {
	var sets [][]*labels.Matcher
	for _, s := range r.Form["match[]"] {
		ms, err := p.ParseMetricSelector(s)
		if err != nil {
			return nil, badData("invalid parameter \"match[]\": %v", err)
		}
		sets = append(sets, ms)
	}
	return sets, nil
}

// selection is what series, labels and label values share: match[] sets,
// a time range and a limit.
type selection struct {
	sets       [][]*labels.Matcher
	start, end int64
	limit      int
}

func (a *API) selectionParams(r *http.Request) (selection, *apiError) {
	var (
		sel  selection
		aerr *apiError
	)
	if sel.sets, aerr = matchersParam(r, a.parser); aerr != nil {
		return sel, aerr
	}
	if sel.start, sel.end, aerr = timeRange(r); aerr != nil {
		return sel, aerr
	}
	sel.limit, aerr = limitParam(r)
	return sel, aerr
}

// resolutionParam reads max_source_resolution as Thanos takes it: "auto"
// (roll-ups chosen from the step), "raw" or 0 (raw samples only), or the
// coarsest roll-up resolution to read, such as 5m or 1h.
func resolutionParam(v string) (int64, *apiError) {
	switch v {
	case "auto":
		return query.AutoResolution, nil
	case "raw":
		return 0, nil
	}
	d, err := parseDuration(v)
	if err != nil || d < 0 {
		return 0, badData("invalid parameter \"max_source_resolution\": %q is not auto, raw or a duration", v)
	}
	return d.Milliseconds(), nil
}

// rangeSpec is the start, end and step of a range request, in ms.
type rangeSpec struct{ start, end, step int64 }

// points is the number of steps of the grid.
func (s rangeSpec) points() int { return int((s.end-s.start)/s.step) + 1 }

// rangeParams reads start, end and step with the checks of query_range.
// start and end are clamped to the evaluation times the engine can hold
// (see evalTime) before the checks, so the grid is the one evaluated.
func rangeParams(r *http.Request) (rangeSpec, *apiError) {
	start, aerr := requiredTime(r, "start")
	if aerr != nil {
		return rangeSpec{}, aerr
	}
	end, aerr := requiredTime(r, "end")
	if aerr != nil {
		return rangeSpec{}, aerr
	}
	start, end = evalTime(start), evalTime(end)
	if end < start {
		return rangeSpec{}, badData("invalid parameter \"end\": end timestamp must not be before start time")
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return rangeSpec{}, badData("invalid parameter \"step\": %v", err)
	}
	if step.Milliseconds() <= 0 {
		return rangeSpec{}, badData("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if float64(end-start)/float64(step.Milliseconds()) > maxPoints {
		return rangeSpec{}, badData("invalid parameter \"step\": exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	}
	return rangeSpec{start, end, step.Milliseconds()}, nil
}
