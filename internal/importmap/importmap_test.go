package importmap

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// module is the import path of this module.
const module = "github.com/gorilla-remote/gorilla-remote"

// everything marks a row that may import any package.
const everything = "*"

// rules is the table of docs/packages.md: for each package of the module
// (relative to the module path), the packages of the module it may import.
// ring and replication do not exist yet; their rows are ready for them.
var rules = map[string][]string{
	"cmd/gorilla-remote": {everything},
	"web":                {"promql", "query", "model"},
	"remote":             {"query", "chunkenc", "model", "limits", "tenant", "internal/metricsreg"},
	"limits":             {"model", "tenant"},
	"tenant":             {},
	"promql":             {"query", "model", "internal/metricsreg"},
	"query":              {"head", "block", "chunkenc", "model", "tenant"},
	"replication":        {"ring", "wal", "model", "tenant", "internal/metricsreg"},
	"ring":               {"model"},
	"block":              {"chunkenc", "model", "internal/metricsreg"},
	"block/bucketcfg":    {},
	"head":               {"chunkenc", "wal", "model", "internal/metricsreg"},
	"wal":                {},
	"chunkenc":           {},
	"model":              {},
	// Contract tests, imported by tests only.
	"remote/remotetest": {"remote", "model"},
	"block/blocktest":   {"block", "chunkenc", "model"},
	// Tools and tests outside the product.
	"bench/loadgen":       {"model"},
	"bench/peers":         {"bench/loadgen"},
	"bench/cluster":       {"bench/loadgen"},
	"bench/compress":      {"chunkenc", "model"},
	"demo":                {"bench/loadgen"},
	"e2e":                 {everything},
	"internal/importmap":  {},
	"internal/metricsreg": {},
	"internal/tlstest":    {},
}

// stdlibOnly are the packages that import the standard library only.
var stdlibOnly = []string{"chunkenc", "wal"}

// thirdParty lists, per package, the only packages outside the standard
// library and the module it may import; packages not listed may import any.
var thirdParty = map[string][]string{
	"model": {"github.com/prometheus/prometheus/model/labels"},
}

// storage are the packages that must not import net/http: only the
// protocol packages turn errors into HTTP status codes.
var storage = []string{"chunkenc", "wal", "model", "head", "block", "query"}

// noCloudSDK are the packages whose dependencies (transitive) must not
// include a cloud storage SDK: only the binary, through block/bucketcfg,
// links them.
var noCloudSDK = []string{"query", "promql", "block", "remote"}

// cloudSDKs are the import path prefixes of the cloud storage SDKs.
var cloudSDKs = []string{
	"github.com/minio/minio-go",
	"cloud.google.com/go/storage",
	"github.com/aws/aws-sdk-go",
	"github.com/Azure/azure-sdk-for-go",
}

// pkg is one package of the dependency graph.
type pkg struct {
	std     bool
	imports []string
}

// graph returns every package the module's packages depend on, the module's
// own included, by import path: `go list -deps ./...` from the module root.
func graph(t *testing.T) map[string]pkg {
	t.Helper()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("find the module root: %v", err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{join .Imports \",\"}}", "./...")
	cmd.Dir = strings.TrimSpace(string(root))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v: %s", err, stderr.Bytes())
	}
	return parseGraph(t, out)
}

// parseGraph parses the lines "path std imports,..." of graph.
func parseGraph(t *testing.T, out []byte) map[string]pkg {
	t.Helper()
	g := map[string]pkg{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			t.Fatalf("go list line %q: want path, standard, imports", sc.Text())
		}
		p := pkg{std: f[1] == "true"}
		if len(f) > 2 {
			p.imports = strings.Split(f[2], ",")
		}
		g[f[0]] = p
	}
	if len(g) == 0 {
		t.Fatal("go list listed no packages")
	}
	return g
}

// own returns the module's packages, relative to the module path, sorted.
func own(g map[string]pkg) []string {
	var out []string
	for path := range g {
		if rel, ok := relative(path); ok {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}

// relative returns path relative to the module, and whether it is in it.
func relative(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// check returns one line per violation of the rules in the graph g.
func check(g map[string]pkg) []string {
	var bad []string
	for _, name := range own(g) {
		allowed, ok := rules[name]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: not in the import map; add its row to docs/packages.md and this test", name))
			continue
		}
		for _, imp := range g[module+"/"+name].imports {
			if msg := checkImport(g, name, allowed, imp); msg != "" {
				bad = append(bad, fmt.Sprintf("%s imports %s: %s", name, imp, msg))
			}
		}
	}
	for _, name := range noCloudSDK {
		if sdk := cloudSDK(g, module+"/"+name); sdk != "" {
			bad = append(bad, fmt.Sprintf("%s links the cloud storage SDK %s; build buckets in block/bucketcfg", name, sdk))
		}
	}
	return bad
}

// checkImport says why name (whose row is allowed) may not import imp, or
// returns "".
func checkImport(g map[string]pkg, name string, allowed []string, imp string) string {
	if rel, ours := relative(imp); ours {
		switch {
		case strings.HasSuffix(rel, "test") && name != "e2e":
			return "contract-test packages are for tests only"
		case slices.Contains(allowed, everything) || slices.Contains(allowed, rel):
			return ""
		}
		return fmt.Sprintf("not allowed (may import %v)", allowed)
	}
	if imp == "net/http" && slices.Contains(storage, name) {
		return "storage packages do not speak HTTP"
	}
	if g[imp].std || imp == "C" {
		return ""
	}
	if slices.Contains(stdlibOnly, name) {
		return "standard library only"
	}
	if only, ok := thirdParty[name]; ok && !slices.Contains(only, imp) {
		return fmt.Sprintf("outside the standard library only %v", only)
	}
	return ""
}

// cloudSDK returns a cloud storage SDK package that from depends on, or "".
func cloudSDK(g map[string]pkg, from string) string {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		for _, prefix := range cloudSDKs {
			if strings.HasPrefix(p, prefix) {
				return p
			}
		}
		stack = append(stack, g[p].imports...)
	}
	return ""
}

// TestImportMap fails on every import the table does not allow.
func TestImportMap(t *testing.T) {
	g := graph(t)
	for _, name := range []string{"chunkenc", "wal", "model", "head", "block", "query", "promql", "remote", "cmd/gorilla-remote"} {
		if _, ok := g[module+"/"+name]; !ok {
			t.Fatalf("package %s not listed by go list: the module layout changed", name)
		}
	}
	for _, msg := range check(g) {
		t.Error(msg)
	}
}

// TestCheckCatches proves check on small graphs: each case breaks one rule
// and must be reported; the clean graph must not.
func TestCheckCatches(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	base := func() map[string]pkg {
		return map[string]pkg{
			"fmt":                          {std: true},
			"net/http":                     {std: true, imports: []string{"fmt"}},
			"github.com/x/y":               {},
			"github.com/minio/minio-go/v7": {},
			"github.com/prometheus/prometheus/model/labels": {},
			m("model"):             {imports: []string{"fmt", "github.com/prometheus/prometheus/model/labels"}},
			m("chunkenc"):          {imports: []string{"fmt"}},
			m("head"):              {imports: []string{m("model"), m("chunkenc")}},
			m("block"):             {imports: []string{m("model"), "github.com/x/y"}},
			m("query"):             {imports: []string{m("head"), m("block")}},
			m("remote"):            {imports: []string{m("query"), "net/http"}},
			m("remote/remotetest"): {imports: []string{m("remote")}},
		}
	}
	if bad := check(base()); len(bad) != 0 {
		t.Fatalf("clean graph: got %q, want nothing", bad)
	}
	cases := map[string]struct {
		pkg, add, want string
	}{
		"upward import":          {"remote", m("head"), "remote imports " + m("head") + ": not allowed"},
		"stdlib only":            {"chunkenc", "github.com/x/y", "standard library only"},
		"storage speaks HTTP":    {"head", "net/http", "storage packages do not speak HTTP"},
		"model third party":      {"model", "github.com/x/y", "outside the standard library only"},
		"contract test imported": {"query", m("remote/remotetest"), "for tests only"},
		"cloud SDK linked":       {"block", "github.com/minio/minio-go/v7", "query links the cloud storage SDK"},
		"package without a row":  {"nosuch", "fmt", "nosuch: not in the import map"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			g := base()
			p := g[m(c.pkg)]
			p.imports = append(slices.Clone(p.imports), c.add)
			g[m(c.pkg)] = p
			bad := check(g)
			if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, c.want) }) {
				t.Fatalf("got %q, want a line containing %q", bad, c.want)
			}
		})
	}
}
