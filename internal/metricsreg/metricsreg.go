// Package metricsreg is the one metrics-registration policy of the
// libraries: a constructor registers its collectors with Register and fails
// with the error it returns; Close calls Unregister with the same set, so
// the registry can take a new instance. Nothing here panics on a clash.
package metricsreg

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers cs with reg (nothing when reg is nil). On the first
// failure it unregisters those it registered and returns an error naming
// the metric, so a clash never panics and never leaves half the set behind.
func Register(reg prometheus.Registerer, cs []prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			Unregister(reg, cs[:i])
			return fmt.Errorf("register metric %s: %w", Name(c), err)
		}
	}
	return nil
}

// Unregister unregisters cs from reg (nothing when reg is nil).
func Unregister(reg prometheus.Registerer, cs []prometheus.Collector) {
	if reg == nil {
		return
	}
	for _, c := range cs {
		reg.Unregister(c)
	}
}

// Name returns the name of the first metric c describes, for error
// messages, or "(unnamed)". Desc has no accessor for it, so it is read from
// Desc.String, which prints it as fqName: "<name>".
func Name(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc, 1)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	name := "(unnamed)"
	for d := range ch {
		if s, ok := strings.CutPrefix(d.String(), `Desc{fqName: "`); ok && name == "(unnamed)" {
			if end := strings.IndexByte(s, '"'); end >= 0 {
				name = s[:end]
			}
		}
	}
	return name
}
