package main

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// prometheusModule is the Go module of Prometheus. Its module versions are
// v0.MMmm.p for release M.mm.p from 3.0 on (v0.316.0 is Prometheus 3.16.0),
// and v0.mm.p for 2.mm.p before.
const prometheusModule = "github.com/prometheus/prometheus"

// binaryVersion says which release bin is: from the Go build information
// of the executable when it was built by `go install module@version` (the
// peers built by `make peers-latest` print no version of their own), else
// from the Debian package pkg when the executable belongs to it. It never
// fails: a version it cannot tell is "unknown (PATH)".
func binaryVersion(ctx context.Context, bin, pkg string) string {
	path, err := exec.LookPath(bin)
	if err != nil {
		return "missing (" + bin + ")"
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if info, err := buildinfo.ReadFile(path); err == nil {
		if v := moduleRelease(info.Main.Path, info.Main.Version); v != "" {
			return fmt.Sprintf("%s (go install %s@%s, %s)", v, info.Path, info.Main.Version, info.GoVersion)
		}
	}
	owner, err := exec.CommandContext(ctx, "dpkg-query", "-S", path).Output()
	if err == nil && strings.HasPrefix(string(owner), pkg+":") {
		return "Debian " + packageVersion(ctx, pkg)
	}
	return "unknown (" + path + ")"
}

// moduleRelease is the release a module version stands for, "" when the
// version is not a release (a build from a work tree says "(devel)").
func moduleRelease(module, version string) string {
	if !strings.HasPrefix(version, "v") || strings.Contains(version, "-") {
		return ""
	}
	v := strings.TrimPrefix(version, "v")
	if module != prometheusModule {
		return v
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 || parts[0] != "0" {
		return v
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil {
		return v
	}
	if minor >= 300 {
		return fmt.Sprintf("%d.%d.%s", minor/100, minor%100, parts[2])
	}
	return fmt.Sprintf("2.%d.%s", minor, parts[2])
}
