//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browser is a headless Chromium driven over the W3C WebDriver protocol
// by chromedriver, both Debian's packages (chromium, chromium-driver).
type browser struct {
	t       *testing.T
	c       *http.Client
	session string // base URL of the WebDriver session
}

// elementKey is the W3C name of an element reference in JSON.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// startBrowser starts chromedriver and a headless Chromium session; both
// end with the test. It skips (fails in CI) when either is missing.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		requireOrSkip(t, "chromium not found (apt-get install chromium chromium-driver): %v", err)
	}
	driver, err := exec.LookPath("chromedriver")
	if err != nil {
		requireOrSkip(t, "chromedriver not found (apt-get install chromium-driver): %v", err)
	}
	port := freePort(t)
	p := startProcess(t, "chromedriver", driver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &http.Client{Timeout: 60 * time.Second}
	p.waitOK(t, c, base+"/status", 30*time.Second)
	b := &browser{t: t, c: c}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	b.call(http.MethodPost, base+"/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--window-size=1280,1000", "--user-data-dir=" + t.TempDir()},
		},
	}}}, &created)
	require.NotEmpty(t, created.SessionID, "WebDriver session")
	b.session = base + "/session/" + created.SessionID
	t.Cleanup(func() {
		b.t = t
		if t.Failed() {
			b.screenshot()
		}
		b.call(http.MethodDelete, b.session, nil, nil)
	})
	return b
}

// sub hands the browser to subtest t until it ends, with a screenshot
// when it fails.
func (b *browser) sub(t *testing.T) {
	parent := b.t
	b.t = t
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot()
		}
		b.t = parent
	})
}

// call sends one WebDriver command and decodes its "value" into out.
func (b *browser) call(method, url string, body any, out any) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(b.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.c.Do(req)
	require.NoError(b.t, err, "WebDriver %s %s", method, url)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("WebDriver %s %s: %s: %s", method, url, resp.Status, raw)
	}
	if out != nil {
		var env struct {
			Value json.RawMessage `json:"value"`
		}
		require.NoError(b.t, json.Unmarshal(raw, &env), "WebDriver answer %s", raw)
		require.NoError(b.t, json.Unmarshal(env.Value, out), "WebDriver value %s", env.Value)
	}
}

// open loads url and waits until the page has drawn itself
// (main[data-loaded] is set once the page's first load has settled).
func (b *browser) open(url string) {
	b.t.Helper()
	b.call(http.MethodPost, b.session+"/url", map[string]any{"url": url}, nil)
	b.waitFor(`return document.querySelector("main[data-loaded]") !== null`, "the page to load")
}

// eval runs script (a function body; arguments in `arguments`) and
// decodes what it returns into out.
func (b *browser) eval(script string, out any, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	b.call(http.MethodPost, b.session+"/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// waitFor polls script until it returns true, failing after a minute.
func (b *browser) waitFor(script, what string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var ok bool
		b.eval(script, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var text string
			b.eval(`return document.body.innerText`, &text)
			b.t.Fatalf("waited a minute for %s; the page shows:\n%s", what, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeInto focuses the element matched by css and types text, as keys.
func (b *browser) typeInto(css, text string) {
	b.t.Helper()
	var el map[string]string
	b.call(http.MethodPost, b.session+"/element", map[string]any{"using": "css selector", "value": css}, &el)
	id := el[elementKey]
	require.NotEmpty(b.t, id, "element %s: %v", css, el)
	b.call(http.MethodPost, b.session+"/element/"+id+"/click", map[string]any{}, nil)
	b.call(http.MethodPost, b.session+"/element/"+id+"/value", map[string]any{"text": text}, nil)
}

// screenshot saves the browser's view as a PNG in the test's output
// directory (t.ArtifactDir when the test runs with -artifacts, else
// $TEST_OUTPUT_DIR or the system's temporary directory) and logs its path.
func (b *browser) screenshot() {
	var shot string
	b.eval(`return 1`, new(int)) // the session must still answer
	b.call(http.MethodGet, b.session+"/screenshot", nil, &shot)
	png, err := base64.StdEncoding.DecodeString(shot)
	if err != nil {
		b.t.Logf("decode the screenshot: %v", err)
		return
	}
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		dir = b.t.ArtifactDir()
	}
	if dir == "" {
		dir = os.TempDir()
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()) + ".png"
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("save the screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the failing page: %s", path)
}
