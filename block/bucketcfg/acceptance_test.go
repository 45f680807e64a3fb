package bucketcfg

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/thanos-io/objstore"
)

// TestFilesystemAcceptance runs the objstore acceptance test against the
// FILESYSTEM buckets New builds: the default one, one from YAML and one
// with a prefix. The S3 and GCS ones run it in the e2e tests, against a
// real S3 server and the GCS emulator.
func TestFilesystemAcceptance(t *testing.T) {
	confs := map[string]func(dir string) string{
		"default": func(string) string { return "" },
		"yaml":    func(dir string) string { return "type: FILESYSTEM\nconfig:\n  directory: " + dir + "\n" },
		"prefixed": func(dir string) string {
			return "type: FILESYSTEM\nconfig:\n  directory: " + dir + "\nprefix: tenant-a\n"
		},
	}
	for name, conf := range confs {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			bkt, err := New(context.Background(), []byte(conf(dir)), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = bkt.Close() })
			if os.Getenv("BUCKETCFG_BREAK_BUCKET") == "1" {
				bkt = notFoundBlind{bkt}
			}
			objstore.AcceptanceTest(t, bkt)
		})
	}
}

// TestAcceptanceCatchesBrokenBucket proves the acceptance test sharp: run
// again in a child process over a bucket that does not recognise its
// not-found errors, it fails.
func TestAcceptanceCatchesBrokenBucket(t *testing.T) {
	if os.Getenv("BUCKETCFG_BREAK_BUCKET") == "1" {
		t.Skip("the child process runs only TestFilesystemAcceptance")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFilesystemAcceptance$/^default$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BUCKETCFG_BREAK_BUCKET=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the acceptance test passed a broken bucket:\n%s", out)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("run the child test: %v", err)
	}
	if !bytes.Contains(out, []byte("expected not found error")) {
		t.Fatalf("the child failed for another reason than the broken bucket:\n%s", out)
	}
}

// notFoundBlind is a bucket that does not recognise its not-found errors.
type notFoundBlind struct{ objstore.Bucket }

func (notFoundBlind) IsObjNotFoundErr(error) bool { return false }
