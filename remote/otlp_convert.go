package remote

import (
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	metricsv1 "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// Metadata types, numbered as in both remote-write protocols (metricType).
const (
	typeCounter   = 1
	typeGauge     = 2
	typeHistogram = 3
	typeSummary   = 5
)

// reasonDeltaTemporality refuses the points of a delta sum or histogram:
// a Prometheus series holds cumulative values.
const reasonDeltaTemporality = "otlp_delta_temporality"

// reasonOTLPScale refuses an exponential histogram whose scale no native
// schema holds (coarser than -4).
const reasonOTLPScale = "otlp_histogram_scale"

// flagNoRecordedValue is DataPointFlags' FLAG_NO_RECORDED_VALUE: the
// point marks the end of a series, stored as a staleness marker.
const flagNoRecordedValue = uint32(metricsv1.DataPointFlags_DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK)

// otlpConverter turns decoded OTLP metrics into a writeBatch, the form
// both remote-write decoders produce, so that validation, limits and
// storage are the same for every protocol (docs/otlp.md).
type otlpConverter struct {
	set      *otlpSettings
	b        *writeBatch
	fromJSON bool // the request was OTLP/JSON: trace ids arrive differently
	lbl      labelSet
	promoted []*commonv1.KeyValue
	times    []int64 // sample timestamps of the resource, for target_info
	job      string
	instance string
}

// convert fills c.b from req.
func (c *otlpConverter) convert(req *metricsv1.MetricsData) {
	c.b.reset()
	for _, rm := range req.GetResourceMetrics() {
		attrs := rm.GetResource().GetAttributes()
		c.job, c.instance = jobInstance(attrs)
		c.promoted = c.promoted[:0]
		for _, kv := range attrs {
			if _, ok := c.set.promote[kv.GetKey()]; ok {
				c.promoted = append(c.promoted, kv)
			}
		}
		c.times = c.times[:0]
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				c.metric(m)
			}
		}
		c.targetInfo(attrs)
	}
}

// metric converts one metric of any type.
func (c *otlpConverter) metric(m *metricsv1.Metric) {
	switch d := m.GetData().(type) {
	case *metricsv1.Metric_Gauge:
		name := c.name(m, otlptranslator.MetricTypeGauge, typeGauge)
		for _, p := range d.Gauge.GetDataPoints() {
			c.number(name, p, "")
		}
	case *metricsv1.Metric_Sum:
		typ, mt := otlptranslator.MetricType(otlptranslator.MetricTypeNonMonotonicCounter), int32(typeGauge)
		if d.Sum.GetIsMonotonic() {
			typ, mt = otlptranslator.MetricTypeMonotonicCounter, typeCounter
		}
		refused := ""
		if d.Sum.GetAggregationTemporality() == metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA {
			refused = reasonDeltaTemporality
		}
		name := c.name(m, typ, mt)
		for _, p := range d.Sum.GetDataPoints() {
			c.number(name, p, refused)
		}
	case *metricsv1.Metric_Histogram:
		refused := ""
		if d.Histogram.GetAggregationTemporality() == metricsv1.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA {
			refused = reasonDeltaTemporality
		}
		name := c.name(m, otlptranslator.MetricTypeHistogram, typeHistogram)
		for _, p := range d.Histogram.GetDataPoints() {
			c.histogram(name, p, refused)
		}
	case *metricsv1.Metric_ExponentialHistogram:
		name := c.name(m, otlptranslator.MetricTypeExponentialHistogram, typeHistogram)
		for _, p := range d.ExponentialHistogram.GetDataPoints() {
			c.exponential(name, p)
		}
	case *metricsv1.Metric_Summary:
		name := c.name(m, otlptranslator.MetricTypeSummary, typeSummary)
		for _, p := range d.Summary.GetDataPoints() {
			c.summary(name, p)
		}
	}
}

// name translates the metric's name and records its metadata under it.
// A name that does not translate (empty) gives series the validation
// refuses for their missing name.
func (c *otlpConverter) name(m *metricsv1.Metric, typ otlptranslator.MetricType, mt int32) string {
	name, err := c.set.metrics.Build(otlptranslator.Metric{Name: m.GetName(), Unit: m.GetUnit(), Type: typ})
	if err != nil {
		return ""
	}
	c.b.metadata = append(c.b.metadata, metadataRef{typ: mt, family: name, help: m.GetDescription(), unit: c.set.units.Build(m.GetUnit())})
	return name
}

// pointLabels sets c.lbl to the labels a point's series share: the
// promoted resource attributes, the point's attributes over them, then
// job and instance. It reports false when an attribute name does not
// translate.
func (c *otlpConverter) pointLabels(attrs []*commonv1.KeyValue) bool {
	c.lbl.reset()
	if !c.lbl.addAttrs(&c.set.labels, c.promoted) || !c.lbl.addAttrs(&c.set.labels, attrs) {
		return false
	}
	if c.job != "" {
		c.lbl.set(labelJob, c.job)
	}
	if c.instance != "" {
		c.lbl.set(labelInstance, c.instance)
	}
	return true
}

// emit adds one series of c.lbl plus __name__ and extra (if named) with
// one sample, and returns its index in c.b.series. refused, if set, is
// the reason its sample is refused.
func (c *otlpConverter) emit(name string, extra labelRef, t, st int64, v float64, refused string) int {
	b := c.b
	s := seriesRef{labelsFrom: len(b.labels), samplesFrom: len(b.samples), exemplarsFrom: len(b.exemplars), refused: refused}
	b.labels = append(b.labels, c.lbl.ls...)
	put := func(l labelRef) {
		for i := s.labelsFrom; i < len(b.labels); i++ {
			if b.labels[i].name == l.name {
				b.labels[i].value = l.value
				return
			}
		}
		b.labels = append(b.labels, l)
	}
	put(labelRef{name: labels.MetricName, value: name})
	if extra.name != "" {
		put(extra)
	}
	s.labelsTo = len(b.labels)
	b.samples = append(b.samples, sampleRef{t: t, st: st, v: v})
	s.samplesTo = len(b.samples)
	s.exemplarsTo = len(b.exemplars)
	b.series = append(b.series, s)
	c.times = append(c.times, t)
	return len(b.series) - 1
}

// refuseAttrs adds a series that is refused for an attribute name that
// does not translate (an empty one), so that its sample is counted.
func (c *otlpConverter) refuseAttrs(name string, t int64) {
	c.lbl.reset()
	c.emit(name, labelRef{}, t, 0, 0, reasonInvalidLabels)
}

// number converts a gauge or sum point.
func (c *otlpConverter) number(name string, p *metricsv1.NumberDataPoint, refused string) {
	t := nanosToMillis(p.GetTimeUnixNano())
	if !c.pointLabels(p.GetAttributes()) {
		c.refuseAttrs(name, t)
		return
	}
	v := p.GetAsDouble()
	if x, ok := p.GetValue().(*metricsv1.NumberDataPoint_AsInt); ok {
		v = float64(x.AsInt)
	}
	i := c.emit(name, labelRef{}, t, nanosToMillis(p.GetStartTimeUnixNano()), stale(p.GetFlags(), v), refused)
	for _, e := range p.GetExemplars() {
		c.exemplar(i, e)
	}
}

// histogram converts a classic histogram point into its _bucket series
// (cumulative, le), _sum when the point has a sum, and _count. Each
// exemplar goes to the bucket its value falls in.
func (c *otlpConverter) histogram(name string, p *metricsv1.HistogramDataPoint, refused string) {
	t, st := nanosToMillis(p.GetTimeUnixNano()), nanosToMillis(p.GetStartTimeUnixNano())
	if !c.pointLabels(p.GetAttributes()) {
		c.refuseAttrs(name, t)
		return
	}
	counts, bounds := p.GetBucketCounts(), p.GetExplicitBounds()
	var cum uint64
	lower := math.Inf(-1)
	for i, bound := range bounds {
		if i < len(counts) {
			cum += counts[i]
		}
		s := c.emit(name+"_bucket", labelRef{labelLe, formatBound(bound)}, t, st, stale(p.GetFlags(), float64(cum)), refused)
		c.exemplarsIn(s, p.GetExemplars(), lower, bound)
		lower = bound
	}
	s := c.emit(name+"_bucket", labelRef{labelLe, "+Inf"}, t, st, stale(p.GetFlags(), float64(p.GetCount())), refused)
	c.exemplarsIn(s, p.GetExemplars(), lower, math.Inf(1))
	if p.Sum != nil {
		c.emit(name+"_sum", labelRef{}, t, st, stale(p.GetFlags(), p.GetSum()), refused)
	}
	c.emit(name+"_count", labelRef{}, t, st, stale(p.GetFlags(), float64(p.GetCount())), refused)
}

// exponential converts an exponential histogram point into a native
// histogram (exponentialToNative): one series holding one histogram
// sample. A point whose scale no native schema holds is refused.
func (c *otlpConverter) exponential(name string, p *metricsv1.ExponentialHistogramDataPoint) {
	t := nanosToMillis(p.GetTimeUnixNano())
	if !c.pointLabels(p.GetAttributes()) {
		c.refuseAttrs(name, t)
		return
	}
	refused := ""
	h, err := exponentialToNative(p)
	if err != nil {
		refused = reasonOTLPScale
	}
	i := c.emit(name, labelRef{}, t, 0, 0, refused)
	s := &c.b.series[i]
	c.b.samples = c.b.samples[:s.samplesFrom]
	s.samplesTo = s.samplesFrom
	s.histsFrom, s.histograms = len(c.b.hists), 1
	if refused == "" {
		c.b.hists = append(c.b.hists, histRef{t: t, h: h})
	}
}

// summary converts a summary point into its quantile series, _sum and
// _count.
func (c *otlpConverter) summary(name string, p *metricsv1.SummaryDataPoint) {
	t, st := nanosToMillis(p.GetTimeUnixNano()), nanosToMillis(p.GetStartTimeUnixNano())
	if !c.pointLabels(p.GetAttributes()) {
		c.refuseAttrs(name, t)
		return
	}
	for _, q := range p.GetQuantileValues() {
		c.emit(name, labelRef{labelQuantile, formatBound(q.GetQuantile())}, t, st, stale(p.GetFlags(), q.GetValue()), "")
	}
	c.emit(name+"_sum", labelRef{}, t, st, stale(p.GetFlags(), p.GetSum()), "")
	c.emit(name+"_count", labelRef{}, t, st, stale(p.GetFlags(), float64(p.GetCount())), "")
}

// exemplarsIn attaches to series i the exemplars whose value lies in
// (lower, upper].
func (c *otlpConverter) exemplarsIn(i int, es []*metricsv1.Exemplar, lower, upper float64) {
	for _, e := range es {
		if v := exemplarValue(e); v > lower && v <= upper {
			c.exemplar(i, e)
		}
	}
}

// exemplar attaches e to series i, which must be the last series added.
func (c *otlpConverter) exemplar(i int, e *metricsv1.Exemplar) {
	b := c.b
	ex := exemplarRef{labelsFrom: len(b.exLabels), t: nanosToMillis(e.GetTimeUnixNano()), v: exemplarValue(e)}
	for _, kv := range e.GetFilteredAttributes() {
		name, err := c.set.labels.Build(kv.GetKey())
		if err != nil {
			continue
		}
		b.exLabels = append(b.exLabels, labelRef{name: name, value: attrValue(kv.GetValue())})
	}
	if id := e.GetTraceId(); len(id) > 0 {
		b.exLabels = append(b.exLabels, labelRef{name: otlptranslator.ExemplarTraceIDKey, value: traceIDLabel(id, c.fromJSON)})
	}
	if id := e.GetSpanId(); len(id) > 0 {
		b.exLabels = append(b.exLabels, labelRef{name: otlptranslator.ExemplarSpanIDKey, value: traceIDLabel(id, c.fromJSON)})
	}
	ex.labelsTo = len(b.exLabels)
	b.exemplars = append(b.exemplars, ex)
	b.series[i].exemplarsTo = len(b.exemplars)
}

// targetInfo adds target_info, value 1 at each timestamp of the
// resource's samples, labelled with the resource attributes that are
// neither promoted nor (unless kept) identifying. A resource without job
// and instance, or without other attributes, gets none, as in Prometheus.
func (c *otlpConverter) targetInfo(attrs []*commonv1.KeyValue) {
	if c.job == "" && c.instance == "" {
		return
	}
	rest := make([]*commonv1.KeyValue, 0, len(attrs))
	for _, kv := range attrs {
		if _, promoted := c.set.promote[kv.GetKey()]; promoted || (identifying(kv.GetKey()) && !c.set.keepService) {
			continue
		}
		rest = append(rest, kv)
	}
	if len(rest) == 0 || len(c.times) == 0 {
		return
	}
	c.promoted = c.promoted[:0]
	if !c.pointLabels(rest) {
		return
	}
	c.b.metadata = append(c.b.metadata, metadataRef{typ: typeGauge, family: otlptranslator.TargetInfoMetricName, help: "Target metadata"})
	// A copy: emit appends to c.times.
	times := uniqueSorted(slices.Clone(c.times))
	for _, t := range times {
		c.emit(otlptranslator.TargetInfoMetricName, labelRef{}, t, 0, 1, "")
	}
}

// exemplarValue returns the value of e as a float.
func exemplarValue(e *metricsv1.Exemplar) float64 {
	if x, ok := e.GetValue().(*metricsv1.Exemplar_AsInt); ok {
		return float64(x.AsInt)
	}
	return e.GetAsDouble()
}

// stale returns the staleness marker for a point without a recorded
// value, else v.
func stale(flags uint32, v float64) float64 {
	if flags&flagNoRecordedValue != 0 {
		return math.Float64frombits(value.StaleNaN)
	}
	return v
}

// nanosToMillis converts an OTLP timestamp to milliseconds.
func nanosToMillis(ns uint64) int64 { return int64(ns / 1e6) }

// formatBound renders a bucket bound or quantile as a label value.
func formatBound(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
