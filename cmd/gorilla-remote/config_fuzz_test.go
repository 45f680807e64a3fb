package main

import (
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

// FuzzConfigFile feeds arbitrary bytes to the config-file decoder: it
// returns an error or settings that pass the checks, and never panics.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		"", "web:\n  listen_address: :9201\n", "block:\n  cache_size: 10GiB\n  duration: 7m\n",
		"storage: x\n", "log:\n  level: verbose\n", "a:\n  b:\n    c: 1\n", "query:\n  max_length: [1, 2]\n",
		"wal:\n  repair: true\n  repair: false\n", "{", "storage:\n  retention: 30d\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		app := kingpin.New("fuzz", "")
		c := newServeCommand(app)
		if _, err := app.Parse([]string{"serve"}); err != nil {
			t.Fatal(err)
		}
		c.flags.configFile = "fuzz.yml"
		c.flags.fromFile = map[string]bool{}
		if err := c.flags.applyConfig(raw); err != nil {
			return
		}
		_ = c.flags.validate()
	})
}
