//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/block/bucketcfg"
)

// fakeServiceAccount returns a service-account key whose token endpoint is
// a local server handing out a fixed token: the GCS client signs in as it
// would against Google, and the emulator accepts any token.
func fakeServiceAccount(t *testing.T) string {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"emulator","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(tokens.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	sa, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "gorilla",
		"private_key_id": "1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "gorilla@gorilla.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      tokens.URL,
	})
	require.NoError(t, err)
	return string(sa)
}

// gcsEmulator starts fake-gcs-server with an empty bucket "gorilla", points
// the GCS provider at it (STORAGE_EMULATOR_HOST) and returns its URL and
// the objstore bucket configuration for it.
func gcsEmulator(t *testing.T, c *http.Client) (url, conf string) {
	gcs := lookGoTool(t, "fake-gcs-server", "github.com/fsouza/fake-gcs-server@v1.56.1")
	gcsPort := freePort(t)
	url = fmt.Sprintf("http://127.0.0.1:%d", gcsPort)
	proc := startProcess(t, "fake-gcs-server", gcs, "-scheme", "http", "-host", "127.0.0.1",
		"-port", fmt.Sprint(gcsPort), "-backend", "memory", "-public-host", fmt.Sprintf("127.0.0.1:%d", gcsPort))
	require.NoError(t, poll(30*time.Second, 100*time.Millisecond, func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", gcsPort))
		if err == nil {
			_ = conn.Close()
			return true
		}
		require.False(t, proc.exited(), "fake-gcs-server exited: %v", proc.err)
		return false
	}))
	resp, err := c.Post(url+"/storage/v1/b?project=gorilla", "application/json", strings.NewReader(`{"name":"gorilla"}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "create bucket")
	require.NoError(t, resp.Body.Close())
	t.Setenv("STORAGE_EMULATOR_HOST", url)
	sa := fakeServiceAccount(t)
	return url, "type: GCS\nconfig:\n  bucket: gorilla\n  service_account: |-\n    " + sa + "\n"
}

// TestGCSAcceptance runs the objstore acceptance test against the GCS
// bucket the binary builds from its configuration, on the GCS emulator.
func TestGCSAcceptance(t *testing.T) {
	_, conf := gcsEmulator(t, newHTTPClient(t))
	bkt, err := bucketcfg.New(context.Background(), []byte(conf), "", nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bkt.Close()) })
	objstore.AcceptanceTest(t, bkt)
}

// TestBlocksGCS ships blocks to the GCS emulator (fake-gcs-server) through
// the GCS provider and reads them back after the head released them.
func TestBlocksGCS(t *testing.T) {
	bin := buildServer(t)
	c := newHTTPClient(t)
	gcsURL, conf := gcsEmulator(t, c)
	cfg := writeFile(t, "gcs.yml", conf)
	port, storage := freePort(t), t.TempDir()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	startBlockServer(t, c, bin, port, storage, "--objstore.config-file="+cfg, "--no-block.rollups")

	w := writeHistory(t, base)
	n := sealedWindows(w)
	waitShipped(t, c, base, n, w)

	// The emulator holds every block, meta.json included.
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	getJSON(t, c, gcsURL+"/storage/v1/b/gorilla/o", &list)
	metas := 0
	for _, it := range list.Items {
		if strings.HasSuffix(it.Name, "/meta.json") {
			metas++
		}
	}
	require.Equal(t, n, metas, "blocks in the GCS bucket: %v", list.Items)
	requireHistory(t, c, base, w)
}
