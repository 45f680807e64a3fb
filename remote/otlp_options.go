package remote

import (
	"fmt"

	"github.com/prometheus/otlptranslator"
)

// OTLPOptions configure how OTLP metrics become Prometheus series
// (docs/otlp.md). The zero value is valid: names are escaped to the
// legacy character set with unit and type suffixes, no resource attribute
// is promoted, and target_info leaves out the attributes that make job
// and instance.
type OTLPOptions struct {
	// PromoteResourceAttributes names the resource attributes copied onto
	// every series of the resource as labels (translated like any other
	// attribute name). A data point attribute of the same label name wins.
	PromoteResourceAttributes []string
	// TranslationStrategy is how metric and label names are translated,
	// one of the values Prometheus 3 accepts: UnderscoreEscapingWithSuffixes
	// (the default, "" means it), UnderscoreEscapingWithoutSuffixes,
	// NoUTF8EscapingWithSuffixes, NoTranslation.
	TranslationStrategy string
	// KeepIdentifyingResourceAttributes keeps service.name,
	// service.namespace and service.instance.id on target_info as labels,
	// beside the job and instance made of them.
	KeepIdentifyingResourceAttributes bool
}

// ParseTranslationStrategy returns the strategy named s ("" is the
// default, UnderscoreEscapingWithSuffixes) or an error naming the
// accepted values.
func ParseTranslationStrategy(s string) (otlptranslator.TranslationStrategyOption, error) {
	switch o := otlptranslator.TranslationStrategyOption(s); o {
	case "":
		return otlptranslator.UnderscoreEscapingWithSuffixes, nil
	case otlptranslator.UnderscoreEscapingWithSuffixes, otlptranslator.UnderscoreEscapingWithoutSuffixes,
		otlptranslator.NoUTF8EscapingWithSuffixes, otlptranslator.NoTranslation:
		return o, nil
	}
	return "", fmt.Errorf("unknown OTLP translation strategy %q, want one of %s, %s, %s, %s", s,
		otlptranslator.UnderscoreEscapingWithSuffixes, otlptranslator.UnderscoreEscapingWithoutSuffixes,
		otlptranslator.NoUTF8EscapingWithSuffixes, otlptranslator.NoTranslation)
}

// otlpSettings are OTLPOptions resolved once per handler.
type otlpSettings struct {
	metrics     otlptranslator.MetricNamer
	labels      otlptranslator.LabelNamer
	units       otlptranslator.UnitNamer
	promote     map[string]struct{} // attribute names, untranslated
	keepService bool
}

// newOTLPSettings resolves o; it fails on an unknown strategy.
func newOTLPSettings(o OTLPOptions) (otlpSettings, error) {
	strategy, err := ParseTranslationStrategy(o.TranslationStrategy)
	if err != nil {
		return otlpSettings{}, err
	}
	s := otlpSettings{
		metrics:     otlptranslator.NewMetricNamer("", strategy),
		labels:      otlptranslator.LabelNamer{UTF8Allowed: !strategy.ShouldEscape()},
		units:       otlptranslator.UnitNamer{UTF8Allowed: !strategy.ShouldEscape()},
		promote:     make(map[string]struct{}, len(o.PromoteResourceAttributes)),
		keepService: o.KeepIdentifyingResourceAttributes,
	}
	for _, a := range o.PromoteResourceAttributes {
		s.promote[a] = struct{}{}
	}
	return s, nil
}
