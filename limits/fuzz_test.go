package limits

import (
	"testing"
)

// FuzzOverridesFile feeds arbitrary bytes to the overrides parser: it never
// panics, and whatever it accepts holds only valid limits, with every
// override starting from the defaults it was applied over.
func FuzzOverridesFile(f *testing.F) {
	f.Add([]byte("defaults:\n  max_series: 10\noverrides:\n  a:\n    ingestion_rate: 5\n"))
	f.Add([]byte("overrides:\n  anonymous:\n    max_label_value_length: 0\n"))
	f.Add([]byte("defaults: [1, 2]\n"))
	f.Add([]byte("overrides:\n  '':\n    max_series: 1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, raw []byte) {
		snap, err := parse(Defaults(), raw)
		if err != nil {
			return
		}
		if err := snap.defaults.Validate(); err != nil {
			t.Fatalf("accepted invalid defaults: %v", err)
		}
		for tenant, l := range snap.tenants {
			if tenant == "" {
				t.Fatal("accepted an empty tenant id")
			}
			if err := l.Validate(); err != nil {
				t.Fatalf("accepted invalid limits for %q: %v", tenant, err)
			}
		}
	})
}
