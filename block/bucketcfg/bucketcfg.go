package bucketcfg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"
	"github.com/thanos-io/objstore/providers/gcs"
	"github.com/thanos-io/objstore/providers/s3"
	"go.yaml.in/yaml/v2"
)

// bucketComponent names us to the providers (S3 sends it as the user agent).
const bucketComponent = "gorilla-remote"

// Supported lists the provider types New builds, in the order error
// messages name them.
func Supported() []objstore.ObjProvider {
	return []objstore.ObjProvider{objstore.FILESYSTEM, objstore.S3, objstore.GCS}
}

// bucketConfig is the Thanos bucket configuration file.
type bucketConfig struct {
	Type   string `yaml:"type"`
	Config any    `yaml:"config"`
	Prefix string `yaml:"prefix"`
}

// New builds a bucket from a Thanos objstore configuration ("type:
// FILESYSTEM|S3|GCS", "config:" with the provider's fields, an optional
// "prefix:"), the file Thanos users already have. The type is
// case-insensitive; unknown fields and other types are refused, the latter
// with the list of supported ones. Empty (or blank) conf means a FILESYSTEM
// bucket at defaultDir, and so does a FILESYSTEM type without a config
// section when defaultDir is set; with neither conf nor defaultDir New fails.
// No provider contacts its endpoint here; ctx bounds what the GCS client
// does while it is built (reading credentials). logger may be nil. The
// caller closes the bucket.
func New(ctx context.Context, conf []byte, defaultDir string, logger *slog.Logger) (objstore.Bucket, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if len(strings.TrimSpace(string(conf))) == 0 {
		if defaultDir == "" {
			return nil, errors.New("bucket: no configuration and no default directory")
		}
		return filesystem.NewBucket(defaultDir)
	}
	var bc bucketConfig
	if err := yaml.UnmarshalStrict(conf, &bc); err != nil {
		return nil, fmt.Errorf("bucket: parse configuration: %w", err)
	}
	sub, err := yaml.Marshal(bc.Config)
	if err != nil {
		return nil, fmt.Errorf("bucket: re-encode the config section: %w", err)
	}
	kl := slogKit{logger.With("component", "objstore")}
	var bkt objstore.Bucket
	switch t := objstore.ObjProvider(strings.ToUpper(bc.Type)); t {
	case objstore.FILESYSTEM:
		if bc.Config == nil && defaultDir != "" {
			bkt, err = filesystem.NewBucket(defaultDir)
		} else {
			bkt, err = filesystem.NewBucketFromConfig(sub)
		}
	case objstore.S3:
		bkt, err = s3.NewBucket(kl, sub, bucketComponent, nil)
	case objstore.GCS:
		bkt, err = gcs.NewBucket(ctx, kl, sub, bucketComponent, nil)
	default:
		return nil, fmt.Errorf("bucket: unsupported type %q, supported: %v", bc.Type, Supported())
	}
	if err != nil {
		return nil, fmt.Errorf("bucket: create %s client: %w", strings.ToUpper(bc.Type), err)
	}
	if bc.Prefix != "" {
		bkt = objstore.NewPrefixedBucket(bkt, bc.Prefix)
	}
	return bkt, nil
}
