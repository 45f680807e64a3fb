package remote

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/limits"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// seriesError says why a whole series is refused.
type seriesError struct {
	reason string // value of the reason label
	msg    string // for the response body
}

// validateLabels checks the labels of one series against the limits and
// sorts them in place when the sender did not. It returns nil when the
// series may be stored.
//
// Label names follow the UTF-8 scheme of Prometheus 3: any non-empty, valid
// UTF-8 string is a valid name, so dotted OpenTelemetry names pass. The
// metric name must be present and non-empty; values must be valid UTF-8.
//
// The label limits are the tenant's, lim; a zero limit is no limit.
func validateLabels(ls []labelRef, lim *limits.Limits) *seriesError {
	if serr := validateShape(ls, lim); serr != nil {
		return serr
	}
	return validateUTF8(ls)
}

// validateUTF8 refuses labels whose names or values are not valid UTF-8.
func validateUTF8(ls []labelRef) *seriesError {
	for i := range ls {
		switch l := &ls[i]; {
		case !validUTF8(l.name):
			return &seriesError{reasonInvalidLabels, fmt.Sprintf("label name %q is not valid UTF-8", l.name)}
		case !validUTF8(l.value):
			return &seriesError{reasonInvalidLabels, fmt.Sprintf("value of label %q is not valid UTF-8", l.name)}
		}
	}
	return nil
}

// validateShape is validateLabels without the UTF-8 check: the checks a
// series the store already holds must pass again, since the limits may
// have changed since it was created, and that sort its labels for the
// lookup. Its strings were valid UTF-8 when the series was created, and a
// lookup that finds it compares them byte for byte.
func validateShape(ls []labelRef, lim *limits.Limits) *seriesError {
	if over(len(ls), lim.MaxLabelNamesPerSeries) {
		return &seriesError{reasonTooManyLabels, fmt.Sprintf("%d labels, more than the limit of %d", len(ls), lim.MaxLabelNamesPerSeries)}
	}
	sorted := true
	for i := range ls {
		l := &ls[i]
		switch {
		case l.name == "":
			return &seriesError{reasonInvalidLabels, "empty label name"}
		case over(len(l.name), lim.MaxLabelNameLength):
			return &seriesError{reasonNameTooLong, fmt.Sprintf("label name of %d bytes, longer than the limit of %d", len(l.name), lim.MaxLabelNameLength)}
		case over(len(l.value), lim.MaxLabelValueLength):
			return &seriesError{reasonValueTooLong, fmt.Sprintf("value of label %q has %d bytes, longer than the limit of %d", l.name, len(l.value), lim.MaxLabelValueLength)}
		}
		if i > 0 && l.name <= ls[i-1].name {
			if l.name == ls[i-1].name {
				return dupError(l.name)
			}
			sorted = false
		}
	}
	if !sorted {
		// Sorting is what every sender should have done; refusing would drop
		// data for a mistake we can repair without ambiguity.
		sortLabelRefs(ls)
		for i := 1; i < len(ls); i++ {
			if ls[i].name == ls[i-1].name {
				return dupError(ls[i].name)
			}
		}
	}
	// __name__ sorts before every lower-case name but not before upper-case
	// ones or digits, so it is searched for, not assumed first.
	for i := range ls {
		if ls[i].name == labels.MetricName {
			if ls[i].value == "" {
				return &seriesError{reasonInvalidLabels, "empty metric name"}
			}
			return nil
		}
	}
	return &seriesError{reasonInvalidLabels, "missing metric name"}
}

// over reports whether n exceeds limit, 0 being no limit.
func over(n, limit int) bool { return limit > 0 && n > limit }

// checkSampleTime returns why a sample timestamp is refused, or "" when the
// store can hold it: it must lie in [model.MinTime, model.MaxTime]. The head
// refuses such samples too; checking here names the series and the
// timestamp in the answer, like every other validation.
func checkSampleTime(t int64) string {
	if err := model.CheckTime(t); err != nil {
		return "sample " + err.Error()
	}
	return ""
}

// sortLabelRefs sorts ls by name.
func sortLabelRefs(ls []labelRef) {
	slices.SortFunc(ls, func(a, b labelRef) int { return strings.Compare(a.name, b.name) })
}

// validUTF8 is utf8.ValidString with a fast path for ASCII, the common case.
func validUTF8(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// dupError reports a label name given twice.
func dupError(name string) *seriesError {
	return &seriesError{reasonInvalidLabels, fmt.Sprintf("duplicate label name %q", name)}
}

// buildLabels copies ls, which must be sorted and valid, into a fresh
// labels.Labels that owns its strings: the store may keep it. Labels with an
// empty value are dropped, since Prometheus treats them as absent.
func buildLabels(b *labels.ScratchBuilder, ls []labelRef) labels.Labels {
	addLabels(b, ls)
	return b.Labels()
}

// overwriteLabels builds ls into *dst, reusing dst's memory: the result is
// valid until the next call with the same dst. It is how series labels are
// passed to the store, which copies what it keeps, so the hot path does not
// allocate a label set per series.
func overwriteLabels(b *labels.ScratchBuilder, ls []labelRef, dst *labels.Labels) labels.Labels {
	addLabels(b, ls)
	b.Overwrite(dst)
	return *dst
}

func addLabels(b *labels.ScratchBuilder, ls []labelRef) {
	b.Reset()
	for _, l := range ls {
		if l.value != "" {
			b.Add(l.name, l.value)
		}
	}
}

// metricType returns the lower-case name of a metric type enum value; the
// enums of both protocol versions share their numbering.
func metricType(t int32) string {
	switch t {
	case 1:
		return "counter"
	case 2:
		return "gauge"
	case 3:
		return "histogram"
	case 4:
		return "gaugehistogram"
	case 5:
		return "summary"
	case 6:
		return "info"
	case 7:
		return "stateset"
	default:
		return "unknown"
	}
}
