package block

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/thanos-io/objstore"
)

func TestNewBucket(t *testing.T) {
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
		bkt, err := NewBucket(nil, dir, nil)
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
		bkt, err := NewBucket([]byte(conf), "/nonexistent/default", nil)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, bkt)
		if ok, _ := bkt.Exists(ctx, "x/y"); !ok {
			t.Fatal("object not in the configured directory")
		}
		other, _ := NewBucket(nil, dir, nil)
		if ok, _ := other.Exists(ctx, "x/y"); !ok {
			t.Fatal("object not under the configured directory")
		}
	})
	t.Run("filesystem prefix", func(t *testing.T) {
		dir := t.TempDir()
		conf := "type: FILESYSTEM\nconfig:\n  directory: " + dir + "\nprefix: tenant-a\n"
		bkt, err := NewBucket([]byte(conf), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, bkt)
		raw, _ := NewBucket(nil, dir, nil)
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
		bkt, err := NewBucket([]byte(conf), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if bkt.Provider() != objstore.S3 || bkt.Name() != "blocks" {
			t.Fatalf("provider %s name %s", bkt.Provider(), bkt.Name())
		}
	})
	t.Run("s3 missing endpoint", func(t *testing.T) {
		if _, err := NewBucket([]byte("type: s3\nconfig:\n  bucket: b\n"), "", nil); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("unknown type", func(t *testing.T) {
		_, err := NewBucket([]byte("type: FTP\nconfig: {}\n"), "", nil)
		if err == nil || !strings.Contains(err.Error(), "FTP") || !strings.Contains(err.Error(), "FILESYSTEM") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		if _, err := NewBucket([]byte("type: FILESYSTEM\nconfg: {}\n"), "", nil); err == nil {
			t.Fatal("typo accepted")
		}
	})
	t.Run("no default", func(t *testing.T) {
		if _, err := NewBucket([]byte("  \n"), "", nil); err == nil {
			t.Fatal("no error")
		}
	})
}

// recordingBucket records the order of uploads and deletes on a real bucket.
type recordingBucket struct {
	objstore.Bucket
	ops []string
}

func (r *recordingBucket) Upload(ctx context.Context, name string, rd io.Reader, opts ...objstore.ObjectUploadOption) error {
	r.ops = append(r.ops, "upload "+name)
	return r.Bucket.Upload(ctx, name, rd, opts...)
}

func (r *recordingBucket) Delete(ctx context.Context, name string) error {
	r.ops = append(r.ops, "delete "+name)
	return r.Bucket.Delete(ctx, name)
}

// bucketFiles returns the object names under dir, recursively.
func bucketFiles(t *testing.T, bkt objstore.Bucket, dir string) []string {
	t.Helper()
	var out []string
	err := bkt.Iter(context.Background(), dir, func(n string) error {
		out = append(out, n)
		return nil
	}, objstore.WithRecursiveIter())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readObject(t *testing.T, bkt objstore.Bucket, name string) []byte {
	t.Helper()
	r, err := bkt.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
