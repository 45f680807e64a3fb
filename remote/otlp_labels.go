package remote

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/otlptranslator"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
)

// Resource attributes that make the job and instance labels, as the
// OpenTelemetry specification for Prometheus compatibility names them.
const (
	attrServiceName       = "service.name"
	attrServiceNamespace  = "service.namespace"
	attrServiceInstanceID = "service.instance.id"
)

// Label names the OTLP translation adds.
const (
	labelJob      = "job"
	labelInstance = "instance"
	labelLe       = "le"
	labelQuantile = "quantile"
)

// attrValue renders an attribute value as a label value: strings as they
// are, numbers and booleans as Go formats them, bytes in base64, arrays and
// maps as JSON.
func attrValue(v *commonv1.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_StringValue:
		return x.StringValue
	case *commonv1.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonv1.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonv1.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonv1.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonv1.AnyValue_ArrayValue, *commonv1.AnyValue_KvlistValue:
		out, err := json.Marshal(attrJSON(v))
		if err != nil {
			return ""
		}
		return string(out)
	}
	return ""
}

// attrJSON returns v as a value encoding/json renders.
func attrJSON(v *commonv1.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, attrJSON(e))
		}
		return out
	case *commonv1.AnyValue_KvlistValue:
		out := make(map[string]any, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = attrJSON(kv.GetValue())
		}
		return out
	case *commonv1.AnyValue_BoolValue:
		return x.BoolValue
	case *commonv1.AnyValue_IntValue:
		return x.IntValue
	case *commonv1.AnyValue_DoubleValue:
		return x.DoubleValue
	case nil:
		return nil
	}
	return attrValue(v)
}

// labelSet collects the labels of one series while attributes are
// translated. Two attributes whose names translate to the same label
// have their values joined with ";" in the order of their original
// names, as Prometheus does.
type labelSet struct {
	ls  []labelRef
	src []string // src[i] is the original name ls[i] came from
}

func (s *labelSet) reset() { s.ls, s.src = s.ls[:0], s.src[:0] }

// set sets name to value, replacing what was there.
func (s *labelSet) set(name, value string) {
	for i := range s.ls {
		if s.ls[i].name == name {
			s.ls[i].value, s.src[i] = value, name
			return
		}
	}
	s.ls = append(s.ls, labelRef{name: name, value: value})
	s.src = append(s.src, name)
}

// addAttrs translates attrs into labels. An attribute that translates to
// a label already set by an earlier call overrides it; within attrs,
// colliding names are joined. It reports false when a name cannot be
// translated (an empty one).
func (s *labelSet) addAttrs(n *otlptranslator.LabelNamer, attrs []*commonv1.KeyValue) bool {
	start := len(s.ls)
	for _, kv := range attrs {
		name, err := n.Build(kv.GetKey())
		if err != nil {
			return false
		}
		value := attrValue(kv.GetValue())
		if i := s.index(name); i >= start {
			// A collision within attrs: join by original name order.
			if kv.GetKey() < s.src[i] {
				s.ls[i].value, s.src[i] = value+";"+s.ls[i].value, kv.GetKey()
			} else {
				s.ls[i].value += ";" + value
			}
			continue
		} else if i >= 0 {
			s.ls[i].value, s.src[i] = value, kv.GetKey()
			continue
		}
		s.ls = append(s.ls, labelRef{name: name, value: value})
		s.src = append(s.src, kv.GetKey())
	}
	return true
}

// index returns the position of name, -1 if absent.
func (s *labelSet) index(name string) int {
	for i := range s.ls {
		if s.ls[i].name == name {
			return i
		}
	}
	return -1
}

// jobInstance returns the job and instance labels of a resource:
// service.namespace/service.name and service.instance.id.
func jobInstance(attrs []*commonv1.KeyValue) (job, instance string) {
	var name, ns string
	for _, kv := range attrs {
		switch kv.GetKey() {
		case attrServiceName:
			name = attrValue(kv.GetValue())
		case attrServiceNamespace:
			ns = attrValue(kv.GetValue())
		case attrServiceInstanceID:
			instance = attrValue(kv.GetValue())
		}
	}
	job = name
	if ns != "" && name != "" {
		job = ns + "/" + name
	}
	return job, instance
}

// identifying reports whether an attribute makes job or instance.
func identifying(key string) bool {
	return key == attrServiceName || key == attrServiceNamespace || key == attrServiceInstanceID
}

// traceIDLabel renders a trace or span id as the hexadecimal label value
// OpenTelemetry specifies. OTLP/JSON sends ids in hexadecimal where the
// protobuf JSON mapping expects base64; since the hexadecimal digits are
// base64 characters and the ids' lengths (32 and 16 digits) are multiples
// of 4, the decoded bytes encode back to exactly the digits sent.
func traceIDLabel(id []byte, fromJSON bool) string {
	if fromJSON {
		return strings.ToLower(base64.StdEncoding.EncodeToString(id))
	}
	return hex.EncodeToString(id)
}

// uniqueSorted sorts ts and drops repeats.
func uniqueSorted(ts []int64) []int64 {
	slices.Sort(ts)
	return slices.Compact(ts)
}
