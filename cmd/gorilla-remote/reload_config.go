package main

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"go.yaml.in/yaml/v2"
)

// reloadableFlags are the settings a reload puts in force; a change to any
// other key of the config file is logged and waits for the next restart.
func reloadableFlags() map[string]bool { return map[string]bool{"log.level": true} }

// secretFlags are the flags whose values the status endpoints mask. None of
// today's flags holds a secret: the bucket's and the web server's
// credentials stay in their own files, which are shown by path only. A
// flag that takes a password or a token is added here.
func secretFlags() map[string]bool { return map[string]bool{} }

// secretMask replaces a secret's value, as Prometheus masks its own.
const secretMask = "<secret>"

// resolveArgs returns the settings the serve command's arguments args
// give with the config file as it is now: what a restart would run with.
func resolveArgs(args []string) (settings, error) {
	app, c := newApp()
	cmd, err := app.Parse(args)
	if err != nil {
		return settings{}, fmt.Errorf("parse the command line: %w", err)
	}
	if cmd != c.serve.cmd.FullCommand() {
		return settings{}, fmt.Errorf("BUG: resolve arguments of command %q", cmd)
	}
	return c.serve.flags.resolve()
}

// reloadConfig reads the settings again (srv.loadSettings) and puts the
// reloadable ones in force: the log level. A file that does not parse or
// holds a refused value is an error and changes nothing. Other keys that
// changed are named in a warning: they take effect at the next restart.
func (srv *server) reloadConfig() error {
	if srv.loadSettings == nil {
		return nil // no config file: nothing to read again
	}
	next, err := srv.loadSettings()
	if err != nil {
		return err
	}
	cur := *srv.effective.Load()
	applied := cur
	applied.LogLevel = next.LogLevel
	if srv.level != nil {
		srv.level.Set(parseLevel(next.LogLevel))
	}
	srv.effective.Store(&applied)
	if keys := restartKeys(cur, next); len(keys) > 0 {
		srv.log.Warn("config keys changed that take effect only at the next restart", "keys", strings.Join(keys, ","))
	}
	return nil
}

// restartKeys returns the config keys, sorted, whose values differ
// between a and b and that a reload does not put in force.
func restartKeys(a, b settings) []string {
	va, vb := flagValues(a), flagValues(b)
	reloadable := reloadableFlags()
	var keys []string
	for name, v := range va {
		if vb[name] != v && !reloadable[name] && name != "config.file" {
			keys = append(keys, configKey(name))
		}
	}
	slices.Sort(keys)
	return keys
}

// parseLevel parses a --log.level value; the flag's enum has already
// refused any other.
func parseLevel(s string) slog.Level {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(s))
	return lv
}

// flagValues returns every server flag of s by name, with its value as
// the flag would print it (and parse it back).
func flagValues(s settings) map[string]string {
	var f flagSet
	f.register(kingpin.New("flags", "").Command("serve", ""))
	f.s = s // the flags' values point into f.s
	out := make(map[string]string, len(f.values)+1)
	for name, v := range f.values {
		out[name] = v.String()
	}
	out["config.file"] = s.ConfigFile
	return out
}

// maskedFlagValues is flagValues with the secrets masked.
func maskedFlagValues(s settings) map[string]string {
	out := flagValues(s)
	for name := range secretFlags() {
		if out[name] != "" {
			out[name] = secretMask
		}
	}
	return out
}

// configYAML returns the settings in force as a config file holding every
// key (docs/configuration.md), secrets masked: sections and keys sorted,
// booleans and integers unquoted.
func configYAML(s settings) string {
	vals := maskedFlagValues(s)
	delete(vals, "config.file") // not a key of the file
	bySection := map[string]yaml.MapSlice{}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		section, key, _ := strings.Cut(configKey(name), ".")
		bySection[section] = append(bySection[section], yaml.MapItem{Key: key, Value: yamlScalar(vals[name])})
	}
	doc := make(yaml.MapSlice, 0, len(bySection))
	for _, section := range slices.Sorted(maps.Keys(bySection)) {
		doc = append(doc, yaml.MapItem{Key: section, Value: bySection[section]})
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return fmt.Sprintf("# BUG: marshal the configuration: %v\n", err)
	}
	return string(b)
}

// yamlScalar types a flag's text for YAML, so that true and 512 are not
// written as quoted strings.
func yamlScalar(v string) any {
	if b, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
		return b
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return v
}
