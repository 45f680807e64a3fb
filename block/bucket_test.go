package block

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/thanos-io/objstore"
)

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
