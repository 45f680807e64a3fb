package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v2"
)

// configKey is the config-file key of a flag: the flag name's first dotted
// part is the section, the rest the key within it, with dashes and further
// dots turned into underscores (storage.retention.raw is
// storage.retention_raw, web.listen-address is web.listen_address).
func configKey(flag string) string {
	section, rest, _ := strings.Cut(flag, ".")
	key := strings.NewReplacer("-", "_", ".", "_").Replace(rest)
	return strings.ReplaceAll(section, "-", "_") + "." + key
}

// resolve applies the config file, if any, under the flags the user gave,
// and then checks every setting (validate). The file's values are parsed
// as the flags' are, so they take the same units; an unknown key, a value
// a flag would refuse and an invalid setting are errors that name the key
// or the flag.
func (f *flagSet) resolve() (settings, error) {
	f.fromFile = map[string]bool{}
	f.s.ConfigFile = f.configFile
	if f.configFile != "" {
		if err := f.applyFile(); err != nil {
			return f.s, err
		}
	}
	return f.s, f.validate()
}

// applyFile reads the config file and sets each flag it names that the
// command line did not.
func (f *flagSet) applyFile() error {
	raw, err := os.ReadFile(f.configFile)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	return f.applyConfig(raw)
}

// applyConfig applies raw, the config file's content.
func (f *flagSet) applyConfig(raw []byte) error {
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("parse config file %s: %w", f.configFile, err)
	}
	doc, err := f.takeRegions(doc)
	if err != nil {
		return err
	}
	vals, err := flattenConfig(doc)
	if err != nil {
		return fmt.Errorf("%w in %s", err, f.configFile)
	}
	byKey := map[string]string{}
	for name := range f.flags {
		byKey[configKey(name)] = name
	}
	for _, kv := range vals {
		name, ok := byKey[kv.key]
		if !ok {
			return fmt.Errorf("unknown config key %q in %s (docs/configuration.md lists the keys)", kv.key, f.configFile)
		}
		if *f.given[name] {
			continue
		}
		if kv.list && !(namedValue{name, f.values[name]}).IsCumulative() {
			return fmt.Errorf("config key %s must hold one value, not a list", kv.key)
		}
		if err := f.values[name].Set(kv.value); err != nil {
			return fmt.Errorf("config key %s: %q in %s: %w", kv.key, kv.value, f.configFile, err)
		}
		f.fromFile[name] = true
	}
	return nil
}

// keyValue is one setting of the config file. A list's items are joined
// with commas, for the flags that may be repeated (listValue).
type keyValue struct {
	key, value string
	list       bool
}

// flattenConfig turns the file's two levels, sections of keys, into dotted
// keys with their scalar values as text, sorted by key. A section that is
// not a mapping, a value that is, a list and a key given twice are errors.
func flattenConfig(doc yaml.MapSlice) ([]keyValue, error) {
	var out []keyValue
	seen := map[string]bool{}
	for _, sec := range doc {
		name := fmt.Sprint(sec.Key)
		keys, ok := sec.Value.(yaml.MapSlice)
		if !ok {
			return nil, fmt.Errorf("config key %q must hold a mapping of keys", name)
		}
		for _, kv := range keys {
			key := name + "." + fmt.Sprint(kv.Key)
			switch v := kv.Value.(type) {
			case yaml.MapSlice:
				return nil, fmt.Errorf("unknown config key %q", key+"."+firstKey(v))
			case []any:
				if seen[key] {
					return nil, fmt.Errorf("config key %s given twice", key)
				}
				seen[key] = true
				items := make([]string, len(v))
				for i, item := range v {
					if _, ok := item.(yaml.MapSlice); ok || item == nil {
						return nil, fmt.Errorf("config key %s must hold a list of values", key)
					}
					items[i] = fmt.Sprint(item)
				}
				out = append(out, keyValue{key, strings.Join(items, ","), true})
			case nil:
				return nil, fmt.Errorf("config key %s has no value", key)
			default:
				if seen[key] {
					return nil, fmt.Errorf("config key %s given twice", key)
				}
				seen[key] = true
				out = append(out, keyValue{key: key, value: fmt.Sprint(v)})
			}
		}
	}
	slices.SortFunc(out, func(a, b keyValue) int { return cmp.Compare(a.key, b.key) })
	return out, nil
}

func firstKey(m yaml.MapSlice) string {
	if len(m) == 0 {
		return ""
	}
	return fmt.Sprint(m[0].Key)
}
