package bucketcfg

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/thanos-io/objstore"
)

func TestNew(t *testing.T) {
	ctx := context.Background()
	roundTrip := func(t *testing.T, bkt objstore.Bucket) {
		t.Helper()
		if err := bkt.Upload(ctx, "x/y", strings.NewReader("hello")); err != nil {
			t.Fatal(err)
		}
		r, err := bkt.Get(ctx, "x/y")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if b, _ := io.ReadAll(r); string(b) != "hello" {
			t.Fatalf("read %q", b)
		}
	}
	t.Run("default", func(t *testing.T) {
		dir := t.TempDir()
		bkt, err := New(ctx, nil, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bkt.Provider() != objstore.FILESYSTEM {
			t.Fatalf("provider %s", bkt.Provider())
		}
		roundTrip(t, bkt)
	})
	t.Run("filesystem yaml", func(t *testing.T) {
		dir := t.TempDir()
		conf := "type: filesystem\nconfig:\n  directory: " + dir + "\n"
		bkt, err := New(ctx, []byte(conf), "/nonexistent/default", nil)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, bkt)
		if ok, _ := bkt.Exists(ctx, "x/y"); !ok {
			t.Fatal("object not in the configured directory")
		}
		other, _ := New(ctx, nil, dir, nil)
		if ok, _ := other.Exists(ctx, "x/y"); !ok {
			t.Fatal("object not under the configured directory")
		}
	})
	t.Run("filesystem prefix", func(t *testing.T) {
		dir := t.TempDir()
		conf := "type: FILESYSTEM\nconfig:\n  directory: " + dir + "\nprefix: tenant-a\n"
		bkt, err := New(ctx, []byte(conf), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, bkt)
		raw, _ := New(ctx, nil, dir, nil)
		if ok, _ := raw.Exists(ctx, "tenant-a/x/y"); !ok {
			t.Fatal("prefix not applied")
		}
	})
	t.Run("s3 without network", func(t *testing.T) {
		// The S3 provider builds its client without contacting the
		// endpoint, so a config for an unreachable one still parses.
		conf := `type: S3
config:
  bucket: blocks
  endpoint: 127.0.0.1:1
  access_key: key
  secret_key: secret
  insecure: true
`
		bkt, err := New(ctx, []byte(conf), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if bkt.Provider() != objstore.S3 || bkt.Name() != "blocks" {
			t.Fatalf("provider %s name %s", bkt.Provider(), bkt.Name())
		}
	})
	t.Run("s3 missing endpoint", func(t *testing.T) {
		if _, err := New(ctx, []byte("type: s3\nconfig:\n  bucket: b\n"), "", nil); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("unknown type", func(t *testing.T) {
		_, err := New(ctx, []byte("type: FTP\nconfig: {}\n"), "", nil)
		if err == nil || !strings.Contains(err.Error(), "FTP") || !strings.Contains(err.Error(), "FILESYSTEM") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		if _, err := New(ctx, []byte("type: FILESYSTEM\nconfg: {}\n"), "", nil); err == nil {
			t.Fatal("typo accepted")
		}
	})
	t.Run("no default", func(t *testing.T) {
		if _, err := New(ctx, []byte("  \n"), "", nil); err == nil {
			t.Fatal("no error")
		}
	})
}
