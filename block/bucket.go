package block

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	kitlog "github.com/go-kit/log"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"
	"github.com/thanos-io/objstore/providers/gcs"
	"github.com/thanos-io/objstore/providers/s3"
	"go.yaml.in/yaml/v2"
)

// bucketComponent names us to the providers (S3 sends it as the user agent).
const bucketComponent = "gorilla-remote"

// supportedBuckets lists the provider types NewBucket builds.
var supportedBuckets = []objstore.ObjProvider{objstore.FILESYSTEM, objstore.S3, objstore.GCS}

// bucketConfig is the Thanos bucket configuration file.
type bucketConfig struct {
	Type   string `yaml:"type"`
	Config any    `yaml:"config"`
	Prefix string `yaml:"prefix"`
}

// NewBucket builds a bucket from a Thanos objstore configuration
// ("type: FILESYSTEM|S3|GCS", "config:" with the provider's fields, an
// optional "prefix:"), the file Thanos users already have. The type is
// case-insensitive. Empty conf means a FILESYSTEM bucket at defaultDir. No
// provider contacts its endpoint here. logger may be nil.
func NewBucket(conf []byte, defaultDir string, logger *slog.Logger) (objstore.Bucket, error) {
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
		bkt, err = gcs.NewBucket(context.Background(), kl, sub, bucketComponent, nil)
	default:
		return nil, fmt.Errorf("bucket: unsupported type %q, supported: %v", bc.Type, supportedBuckets)
	}
	if err != nil {
		return nil, fmt.Errorf("bucket: create %s client: %w", strings.ToUpper(bc.Type), err)
	}
	if bc.Prefix != "" {
		bkt = objstore.NewPrefixedBucket(bkt, bc.Prefix)
	}
	return bkt, nil
}

// slogKit is the go-kit logger the objstore providers take, writing to slog.
type slogKit struct{ l *slog.Logger }

var _ kitlog.Logger = slogKit{}

// Log maps go-kit key-value pairs onto a slog record: "msg" becomes the
// message and "level" the level (info when absent).
func (k slogKit) Log(kv ...any) error {
	lvl := slog.LevelInfo
	msg := ""
	attrs := make([]any, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		key := fmt.Sprint(kv[i])
		switch key {
		case "msg":
			msg = fmt.Sprint(kv[i+1])
		case "level":
			lvl = parseLevel(fmt.Sprint(kv[i+1]))
		default:
			attrs = append(attrs, key, kv[i+1])
		}
	}
	k.l.Log(context.Background(), lvl, msg, attrs...)
	return nil
}

func parseLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
