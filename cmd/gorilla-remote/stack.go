package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/block/bucketcfg"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/query"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/tenant"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// stack is the storage of one tenant and the API over it: its head (and
// WAL), its blocks, its tombstones and the handler of its data endpoints.
// Without tenancy the server runs one, for tenant.Anonymous, over the
// storage path and the bucket's root; with tenancy one per tenant.
type stack struct {
	id     string
	head   *head.Head
	blocks *blocks
	q      *query.Queryable // the head and the blocks, with the tombstones
	// read is what queries read: q, merged in a cluster with the other
	// nodes' heads (cluster_read.go).
	read storage.SampleAndChunkQueryable
	api  http.Handler
	// internal serves /internal/v1/ over the head alone; nil without
	// cluster mode (cluster_internal.go).
	internal http.Handler
}

// stackEnv is where a stack keeps its data and how it reports.
type stackEnv struct {
	id       string                // the tenant
	dir      string                // the WAL, local blocks, roll-ups, tombstones
	cacheDir string                // the block cache
	bucket   objstore.Bucket       // closed by the stack's close
	reg      prometheus.Registerer // the stack's metrics
	// write, if set, serves /api/v1/write for every stack; nil builds a
	// remote-write handler over this stack's head.
	write http.Handler
	// internalWrite, if set, serves /internal/v1/push for every stack in
	// cluster mode; nil builds one over this stack's head.
	internalWrite http.Handler
}

// openBucket opens the bucket of --objstore.config-file, or the
// filesystem bucket under <storage.path>/bucket.
func (srv *server) openBucket() (objstore.Bucket, error) {
	var conf []byte
	if path := srv.s.ObjstoreConfigFile; path != "" {
		var err error
		if conf, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read --objstore.config-file: %w", err)
		}
	}
	bkt, err := bucketcfg.New(context.Background(), conf, filepath.Join(srv.s.StoragePath, "bucket"), srv.log)
	if err != nil {
		return nil, fmt.Errorf("bucket: %w", err)
	}
	return bkt, nil
}

// openStack opens a stack in env: it replays the WAL into the head, opens
// the blocks and the tombstones and builds the API over them. It lists
// the bucket once; the stack's loops (storageLoops) are the caller's to
// run. On error everything opened, env.bucket included, is closed.
func (srv *server) openStack(env stackEnv) (*stack, error) {
	pol, err := wal.ParseFsyncPolicy(srv.s.WALFsync)
	if err != nil {
		return nil, errors.Join(err, env.bucket.Close())
	}
	codec, err := head.WALCodec(srv.s.WALCompression)
	if err != nil {
		return nil, errors.Join(err, env.bucket.Close())
	}
	log := srv.log
	if srv.s.TenancyEnabled {
		log = log.With("tenant", env.id)
	}
	h, err := head.Open(head.Options{
		Dir:                 env.dir,
		BlockDuration:       srv.s.BlockDuration,
		OutOfOrderWindow:    outOfOrderWindow(srv.s.OutOfOrderWindow),
		Retention:           srv.s.HeadRetention,
		Shipping:            true,
		MaintenanceInterval: srv.s.MaintenanceInterval,
		WAL:                 wal.Options{Fsync: pol, Repair: srv.s.WALRepair, CreateFile: srv.walCreate, Compression: codec},
		Logger:              log,
		Registerer:          env.reg,
		Limiter:             srv.limits.Load().series.ForTenant(env.id),
	})
	if errors.Is(err, wal.ErrCorrupt) || errors.Is(err, wal.ErrMissingSegment) {
		return nil, errors.Join(fmt.Errorf("open storage: %w (--wal.repair starts anyway, dropping only the damaged records)", err), env.bucket.Close())
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open storage: %w", err), env.bucket.Close())
	}
	blks, err := srv.openBlocks(h, env)
	if err != nil {
		return nil, errors.Join(err, env.bucket.Close(), h.Close())
	}
	tombs, err := query.OpenTombstones(env.dir)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open storage: %w", err), blks.stop(), h.Close())
	}
	q := query.NewWithBlocks(h, blks.store, query.WithLogger(log), query.WithRegisterer(env.reg), query.WithTombstones(tombs))
	write := env.write
	switch {
	case write != nil:
	case srv.cluster != nil:
		local := func(string) (remote.Appender, error) { return h.Appender(), nil }
		if write, err = srv.replicatedWriteHandler(local, env.reg); err != nil {
			return nil, errors.Join(err, blks.stop(), h.Close())
		}
	default:
		if write, err = srv.writeHandler(appendable{h}, env.reg); err != nil {
			return nil, errors.Join(err, blks.stop(), h.Close())
		}
	}
	r, err := srv.stackReads(env.id, h, q)
	if err != nil {
		return nil, errors.Join(err, blks.stop(), h.Close())
	}
	api, err := srv.apiHandler(env.id, write, h, r, srv.admin(h, blks, tombs, env.dir), env.reg)
	if err != nil {
		return nil, errors.Join(err, blks.stop(), h.Close())
	}
	st := &stack{id: env.id, head: h, blocks: blks, q: q, read: r.q, api: api}
	if srv.cluster != nil {
		if st.internal, err = srv.openInternal(env, h, tombs); err != nil {
			return nil, errors.Join(err, blks.stop(), h.Close())
		}
	}
	blks.syncOnce(context.Background(), log)
	return st, nil
}

// close closes the stack's blocks and head, flushing the WAL. Its loops
// must have returned.
func (st *stack) close() error {
	if err := errors.Join(st.blocks.stop(), st.head.Close()); err != nil {
		return fmt.Errorf("close storage of tenant %s: %w", st.id, err)
	}
	return nil
}

// runStorage opens the storage (replaying the WAL), lets the loops run
// over it and serves the API until the HTTP server has stopped; then it
// stops the loops and closes the storage, flushing the WAL. Without
// tenancy it opens one stack over the storage path and the bucket's root;
// with it, the tenants manager t opens one per tenant (tenants.go).
func (srv *server) runStorage(l *loops, t *tenants) error {
	if _, err := wal.ParseFsyncPolicy(srv.s.WALFsync); err != nil {
		return err
	}
	lim, err := newLimits(srv.s, srv.log, srv.reg)
	if err != nil {
		return err
	}
	srv.limits.Store(lim)
	start := time.Now()
	if srv.s.TenancyEnabled {
		return srv.runTenants(t, start)
	}
	bkt, err := srv.openBucket()
	if err != nil {
		return err
	}
	cacheDir := srv.s.BlockCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(srv.s.StoragePath, "block-cache")
	}
	restoreGC := raiseGCForStartup()
	st, err := srv.openStack(stackEnv{id: tenant.Anonymous, dir: srv.s.StoragePath, cacheDir: cacheDir, bucket: bkt, reg: srv.reg})
	restoreGC()
	if err != nil {
		return err
	}
	srv.opened.Store(st.head)
	l.start(st.blocks)
	srv.api.Store(&st.api)
	srv.internal.Store(&st.internal)
	srv.ready.Store(true)
	srv.log.Info("ready", "startup_seconds", time.Since(start).Seconds())
	srv.cluster.markReady()
	<-srv.closed
	srv.ready.Store(false)
	srv.closeDistributor()
	l.stop()
	srv.cluster.flush(st)
	if err := st.close(); err != nil {
		return err
	}
	srv.log.Info("storage closed")
	return nil
}

// outOfOrderWindow maps --storage.out-of-order-window to the head's
// option: on the command line 0 turns out-of-order samples off.
func outOfOrderWindow(d time.Duration) time.Duration {
	if d == 0 {
		return model.OutOfOrderOff
	}
	return d
}
