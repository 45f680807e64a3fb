package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docFlag is one row of a flags table in docs/configuration.md.
type docFlag struct {
	def, key string
}

var (
	docSection = regexp.MustCompile("^## (?:`([a-z]+)`|Flags of every command)")
	docRow     = regexp.MustCompile("^\\| `--([a-z0-9.-]+)`[^|]*\\|([^|]*)\\|([^|]*)\\|")
)

// readConfigurationDocs returns the documented flags by command ("" for
// the flags of every command) and name.
func readConfigurationDocs(t *testing.T) map[string]map[string]docFlag {
	t.Helper()
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatalf("read docs: %v", err)
	}
	docs := map[string]map[string]docFlag{}
	section := "-" // before the first flags section
	for _, line := range strings.Split(string(raw), "\n") {
		if m := docSection.FindStringSubmatch(line); m != nil {
			section = m[1]
			docs[section] = map[string]docFlag{}
			continue
		}
		if strings.HasPrefix(line, "## ") {
			section = "-"
			continue
		}
		m := docRow.FindStringSubmatch(line)
		if m == nil || section == "-" {
			continue
		}
		if _, dup := docs[section][m[1]]; dup {
			t.Fatalf("docs/configuration.md: --%s documented twice under %q", m[1], section)
		}
		unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		docs[section][m[1]] = docFlag{def: unquote(m[2]), key: unquote(m[3])}
	}
	return docs
}

// TestConfigurationDocs compares docs/configuration.md with the command
// line, both ways: every flag of every command is documented with its
// default and config-file key, and every documented flag exists.
func TestConfigurationDocs(t *testing.T) {
	app, _ := newApp()
	model := app.Model()
	real := map[string]map[string]docFlag{"": {}}
	for _, f := range model.Flags {
		if !f.Hidden { // kingpin's --help-long, --help-man and --completion-*
			real[""][f.Name] = docFlag{def: strings.Join(f.Default, ",")}
		}
	}
	for _, c := range model.Commands {
		if c.Name == "help" {
			continue
		}
		real[c.Name] = map[string]docFlag{}
		for _, f := range c.Flags {
			want := docFlag{def: strings.Join(f.Default, ",")}
			if c.Default && f.Name != "config.file" {
				want.key = configKey(f.Name)
			}
			real[c.Name][f.Name] = want
		}
	}
	docs := readConfigurationDocs(t)
	for _, cmd := range sortedKeys(real) {
		for _, name := range sortedKeys(real[cmd]) {
			got, ok := docs[cmd][name]
			if !ok {
				t.Errorf("docs/configuration.md: --%s of command %q is not documented", name, cmd)
				continue
			}
			if want := real[cmd][name]; got != want {
				t.Errorf("docs/configuration.md: --%s of command %q: documented default %q, key %q; want %q, %q",
					name, cmd, got.def, got.key, want.def, want.key)
			}
		}
	}
	for _, cmd := range sortedKeys(docs) {
		for _, name := range sortedKeys(docs[cmd]) {
			if _, ok := real[cmd][name]; !ok {
				t.Errorf("docs/configuration.md: documents --%s of command %q, which has no such flag", name, cmd)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
