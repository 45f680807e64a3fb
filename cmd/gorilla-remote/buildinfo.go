package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gorilla-remote/gorilla-remote/promql"
)

// version and branch are set at build time:
//
//	go build -ldflags "-X main.version=1.2.3 -X main.branch=$(git rev-parse --abbrev-ref HEAD)"
//
// The default version is valid semver, which Grafana needs to read the
// build info. The Go build info does not record the branch, hence the
// variable; without it the branch is "unknown". revision, if set, stands
// in for the build info's vcs.revision when the build recorded none
// (-buildvcs=false); the build info wins when it has one.
var (
	version  = "0.1.0-dev"
	branch   = ""
	revision = ""
)

// unknown stands for what the build did not record (go run and go test
// record no revision).
const unknown = "unknown"

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version   string
	Revision  string // the commit; "-dirty" appended when the tree had changes
	Branch    string
	BuildDate string // the commit's time (vcs.time), RFC 3339
	GoVersion string
}

// readBuildInfo combines the -ldflags variables with the Go build info's
// vcs.revision, vcs.time and vcs.modified settings.
func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version, Branch: branch, Revision: revision, BuildDate: unknown, GoVersion: runtime.Version()}
	if bi.Branch == "" {
		bi.Branch = unknown
	}
	if bi.Revision == "" {
		bi.Revision = unknown
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	return withVCS(bi, info.Settings)
}

// withVCS fills the revision and build date of bi from the build settings.
func withVCS(bi buildInfo, settings []debug.BuildSetting) buildInfo {
	dirty := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			bi.Revision = s.Value
		case "vcs.time":
			bi.BuildDate = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && bi.Revision != unknown {
		bi.Revision += "-dirty"
	}
	return bi
}

// versionString is what --version prints.
func versionString(bi buildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gorilla-remote, version %s (branch: %s, revision: %s)\n", bi.Version, bi.Branch, bi.Revision)
	fmt.Fprintf(&b, "  build date:  %s\n", bi.BuildDate)
	fmt.Fprintf(&b, "  go version:  %s\n", bi.GoVersion)
	fmt.Fprintf(&b, "  platform:    %s/%s", runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// api is bi as /api/v1/status/buildinfo answers it.
func (bi buildInfo) api() promql.BuildInfo {
	return promql.BuildInfo{
		Version: bi.Version, Revision: bi.Revision, Branch: bi.Branch,
		BuildDate: bi.BuildDate, GoVersion: bi.GoVersion,
	}
}

// registerBuildInfo registers gorilla_build_info, a gauge of 1 whose
// labels are the build's version, revision, branch and Go version.
func registerBuildInfo(reg prometheus.Registerer, bi buildInfo) error {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gorilla_build_info",
		Help: "A metric with a constant '1' value labeled by version, revision, branch, and goversion from which gorilla-remote was built.",
		ConstLabels: prometheus.Labels{
			"version": bi.Version, "revision": bi.Revision, "branch": bi.Branch, "goversion": bi.GoVersion,
		},
	})
	g.Set(1)
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register gorilla_build_info: %w", err)
	}
	return nil
}
