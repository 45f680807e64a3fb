package block

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/oklog/ulid/v2"
	"github.com/thanos-io/objstore"
)

// Upload uploads the block in the local directory dir to bkt under
// <ULID>/: every file but meta.json first, meta.json last, so that a crash
// part-way leaves a block that readers ignore. Uploading again overwrites:
// Upload is idempotent.
func Upload(ctx context.Context, bkt objstore.Bucket, dir string) error {
	meta, err := ReadMeta(dir)
	if err != nil {
		return fmt.Errorf("upload %s: %w", dir, err)
	}
	if base := filepath.Base(dir); base != meta.ULID.String() {
		return fmt.Errorf("upload %s: directory name differs from ULID %s", dir, meta.ULID)
	}
	var rels []string
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel != MetaFilename {
			rels = append(rels, rel)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upload %s: list files: %w", meta.ULID, err)
	}
	slices.Sort(rels)
	for _, rel := range append(rels, MetaFilename) {
		if err := uploadFile(ctx, bkt, filepath.Join(dir, filepath.FromSlash(rel)), path.Join(meta.ULID.String(), rel)); err != nil {
			return fmt.Errorf("upload %s: %w", meta.ULID, err)
		}
	}
	return nil
}

func uploadFile(ctx context.Context, bkt objstore.Bucket, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := bkt.Upload(ctx, dst, f); err != nil {
		return fmt.Errorf("put %s: %w", dst, err)
	}
	return nil
}

// Delete removes block id from bkt: meta.json first, so that a block deleted
// half-way reads as incomplete and is ignored, then every other object under
// <ULID>/. Deleting a block that is already gone is not an error.
func Delete(ctx context.Context, bkt objstore.Bucket, id ulid.ULID) error {
	metaName := path.Join(id.String(), MetaFilename)
	if err := bkt.Delete(ctx, metaName); err != nil && !bkt.IsObjNotFoundErr(err) {
		return fmt.Errorf("delete %s: %w", metaName, err)
	}
	names, err := objects(ctx, bkt, id)
	if err != nil {
		return fmt.Errorf("delete %s: list: %w", id, err)
	}
	for _, name := range names {
		if err := bkt.Delete(ctx, name); err != nil && !bkt.IsObjNotFoundErr(err) {
			return fmt.Errorf("delete %s: %w", name, err)
		}
	}
	return nil
}

// objects lists every object of block id in bkt.
func objects(ctx context.Context, bkt objstore.BucketReader, id ulid.ULID) ([]string, error) {
	var names []string
	err := bkt.Iter(ctx, id.String()+"/", func(name string) error {
		if !strings.HasSuffix(name, "/") {
			names = append(names, name)
		}
		return nil
	}, objstore.WithRecursiveIter())
	return names, err
}

// download copies every object of block id from bkt into the directory dst,
// meta.json last, and reports each file's size to count.
func download(ctx context.Context, bkt objstore.BucketReader, id ulid.ULID, dst string, count func(int64)) error {
	names, err := objects(ctx, bkt, id)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	slices.Sort(names)
	metaName := path.Join(id.String(), MetaFilename)
	i := slices.Index(names, metaName)
	if i < 0 {
		return fmt.Errorf("%s: %w", metaName, ErrNoMeta)
	}
	names = append(slices.Delete(names, i, i+1), metaName)
	for _, name := range names {
		rel := strings.TrimPrefix(name, id.String()+"/")
		n, err := downloadFile(ctx, bkt, name, filepath.Join(dst, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		count(n)
	}
	return nil
}

// downloadFile copies object name into file dst and fsyncs it.
func downloadFile(ctx context.Context, bkt objstore.BucketReader, name, dst string) (n int64, err error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil {
		return 0, err
	}
	r, err := bkt.Get(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", name, err)
	}
	defer r.Close()
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if n, err = io.Copy(f, r); err != nil {
		return n, fmt.Errorf("get %s: %w", name, err)
	}
	return n, errors.Join(f.Sync())
}
