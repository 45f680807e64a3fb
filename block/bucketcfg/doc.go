// Package bucketcfg builds an object storage bucket from the Thanos objstore
// configuration file (the YAML Thanos users already have):
//
//	bkt, err := bucketcfg.New(ctx, conf, "/var/lib/gorilla-remote/bucket", logger)
//	defer bkt.Close()
//
// It links the FILESYSTEM, S3 and GCS providers directly (not the objstore
// client package, which pulls in every cloud SDK). It is its own package so
// that the packages reading and writing blocks (block, query, promql) work on
// any objstore.Bucket without linking a cloud SDK: only the binary, which
// turns the configuration into a bucket, imports it.
package bucketcfg
