package block

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/thanos-io/objstore/providers/filesystem"
)

func TestUploadOrderAndDelete(t *testing.T) {
	ctx := context.Background()
	fsb, err := filesystem.NewBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bkt := &recordingBucket{Bucket: fsb}
	dir := t.TempDir()
	series := genSeries(t, rand.New(rand.NewSource(8)), 30, testMint, testMaxt, 15000, 2)
	m := writeTestBlock(t, dir, series, WriteOptions{})
	bdir := filepath.Join(dir, m.ULID.String())
	id := m.ULID.String()

	for range 2 { // idempotent
		bkt.ops = nil
		if err := Upload(ctx, bkt, bdir); err != nil {
			t.Fatal(err)
		}
		want := []string{"upload " + id + "/chunks/000001", "upload " + id + "/index", "upload " + id + "/meta.json"}
		if !slices.Equal(bkt.ops, want) {
			t.Fatalf("uploads %v, want %v", bkt.ops, want)
		}
	}
	for _, f := range []string{"chunks/000001", "index", "meta.json"} {
		local, _ := os.ReadFile(filepath.Join(bdir, f))
		if !bytes.Equal(readObject(t, bkt, id+"/"+f), local) {
			t.Fatalf("%s differs in the bucket", f)
		}
	}

	bkt.ops = nil
	if err := Delete(ctx, bkt, m.ULID); err != nil {
		t.Fatal(err)
	}
	if len(bkt.ops) != 3 || bkt.ops[0] != "delete "+id+"/meta.json" {
		t.Fatalf("deletes %v, want meta.json first", bkt.ops)
	}
	if left := bucketFiles(t, bkt, ""); len(left) != 0 {
		t.Fatalf("left in bucket: %v", left)
	}
	if err := Delete(ctx, bkt, m.ULID); err != nil {
		t.Fatalf("deleting a deleted block: %v", err)
	}
}

func TestUploadRejectsBadDir(t *testing.T) {
	fsb, _ := filesystem.NewBucket(t.TempDir())
	if err := Upload(context.Background(), fsb, t.TempDir()); err == nil {
		t.Fatal("uploaded a directory without meta.json")
	}
	dir := t.TempDir()
	m := writeTestBlock(t, dir, genSeries(t, rand.New(rand.NewSource(9)), 3, testMint, testMaxt, 60000, 1), WriteOptions{})
	renamed := filepath.Join(dir, "renamed")
	if err := os.Rename(filepath.Join(dir, m.ULID.String()), renamed); err != nil {
		t.Fatal(err)
	}
	if err := Upload(context.Background(), fsb, renamed); err == nil {
		t.Fatal("uploaded a block whose directory is not its ULID")
	}
}
