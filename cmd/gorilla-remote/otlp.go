package main

import (
	"fmt"
	"net/http"

	"github.com/alecthomas/kingpin/v2"

	"github.com/gorilla-remote/gorilla-remote/remote"
)

// otlpPath is the OTLP/HTTP metrics endpoint, where Prometheus 3 serves it.
const otlpPath = "/api/v1/otlp/v1/metrics"

// otlpSettings are the --otlp.* settings (docs/otlp.md).
type otlpSettings struct {
	PromoteResourceAttributes         []string
	TranslationStrategy               string
	KeepIdentifyingResourceAttributes bool
}

// registerOTLP binds the --otlp.* flags.
func (f *flagSet) registerOTLP(flag func(name, help string) *kingpin.FlagClause) {
	o := &f.s.OTLP
	flag("otlp.promote-resource-attributes", "OTLP resource attribute copied onto every series of its resource as a label; repeat it or give a comma-separated list. The others go to target_info.").
		SetValue(&listValue{&o.PromoteResourceAttributes})
	flag("otlp.translation-strategy", "How OTLP metric and label names become Prometheus names, as in Prometheus 3: UnderscoreEscapingWithSuffixes, UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes or NoTranslation.").
		Default("UnderscoreEscapingWithSuffixes").EnumVar(&o.TranslationStrategy,
		"UnderscoreEscapingWithSuffixes", "UnderscoreEscapingWithoutSuffixes", "NoUTF8EscapingWithSuffixes", "NoTranslation")
	flag("otlp.keep-identifying-resource-attributes", "Keep service.name, service.namespace and service.instance.id as labels of target_info, beside the job and instance made of them.").
		Default("false").BoolVar(&o.KeepIdentifyingResourceAttributes)
}

// otlpHandler builds the OTLP metrics handler over write, the stack's
// remote-write handler: OTLP shares its store (the replicated one in
// cluster mode), limits and metrics.
func (srv *server) otlpHandler(write http.Handler) (http.Handler, error) {
	wh, ok := write.(remote.Handler)
	if !ok {
		return nil, fmt.Errorf("OTLP handler: the write handler is a %T", write)
	}
	o := srv.s.OTLP
	h, err := remote.NewOTLPHandler(wh, remote.OTLPOptions{
		PromoteResourceAttributes:         o.PromoteResourceAttributes,
		TranslationStrategy:               o.TranslationStrategy,
		KeepIdentifyingResourceAttributes: o.KeepIdentifyingResourceAttributes,
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}
