package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/promql"
	"github.com/gorilla-remote/gorilla-remote/remote"
	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// tenants are the stacks of a server run with --tenancy.enabled, one per
// tenant, each over <storage.path>/tenants/<id>/ and the bucket under the
// prefix <id>/. A stack is opened at start for every tenant directory
// there, and on first use for a new tenant (a write or a read alike: a
// read of a new tenant opens an empty stack and answers from it).
//
// The stacks' background loops run as goroutines owned by the manager,
// which is one actor of the server's run group (add): a loop that fails
// while the server runs stops the server with its error. stop ends the
// loops and waits for them before the stacks are closed.
type tenants struct {
	srv    *server
	bucket objstore.Bucket // the root, closed by stop
	engine *promql.Engine  // the engine of federated queries (federation.go)
	// fedInflight holds a token per federated request being served, at
	// most --query.max-inflight.
	fedInflight chan struct{}

	mu      sync.Mutex
	stacks  map[string]*stack   // the open ones
	opening map[string]*opening // those being opened, by one get each
	opens   sync.WaitGroup      // the gets opening a stack
	write   http.Handler        // the remote-write handler of every stack
	// internalWrite is the /internal/v1/push handler of every stack, nil
	// without cluster mode.
	internalWrite http.Handler
	closed        bool // set by stop: no stack opens any more

	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup // the loops
	failed      chan error     // the first loop to fail while the server runs
	interrupted chan struct{}  // closed when the group interrupts the manager
	once        sync.Once
}

func newTenants(srv *server) *tenants {
	ctx, cancel := context.WithCancel(context.Background())
	return &tenants{srv: srv, stacks: map[string]*stack{}, opening: map[string]*opening{}, ctx: ctx, cancel: cancel,
		failed: make(chan error, 1), interrupted: make(chan struct{})}
}

// add adds the manager to g as one actor: it returns a loop's error, or
// nil once the group interrupts it.
func (t *tenants) add(g *run.Group) {
	g.Add(func() error {
		select {
		case err := <-t.failed:
			return err
		case <-t.interrupted:
			return nil
		}
	}, func(error) {
		t.once.Do(func() { close(t.interrupted) })
		t.cancel()
	})
}

// runTenants is runStorage with tenancy: it opens the stack of every
// tenant directory, serves the API through the tenant router until the
// HTTP server has stopped, then ends the loops and closes every stack.
func (srv *server) runTenants(t *tenants, start time.Time) error {
	bkt, err := srv.openBucket()
	if err != nil {
		return err
	}
	t.bucket = bkt
	var write http.Handler
	if srv.cluster != nil {
		write, err = srv.replicatedWriteHandler(t.TenantAppender, srv.reg)
	} else {
		write, err = srv.writeHandler(t, srv.reg)
	}
	if err != nil {
		return errors.Join(err, t.stop())
	}
	t.engine, err = promql.NewEngine(promql.EngineOptions{
		LookbackDelta: srv.s.LookbackDelta, Timeout: srv.s.QueryTimeout, MaxSamples: srv.s.QueryMaxSamples,
		MaxConcurrent: srv.s.QueryConcurrency, Shards: srv.s.QueryShards, Logger: srv.log,
		Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"tenant": federatedTenant}, srv.reg),
	})
	if err != nil {
		return errors.Join(fmt.Errorf("federated query engine: %w", err), t.stop())
	}
	t.fedInflight = make(chan struct{}, max(srv.s.QueryMaxInflight, 1))
	if srv.cluster != nil {
		if t.internalWrite, err = srv.internalWriteHandler(t, srv.reg); err != nil {
			return errors.Join(err, t.stop())
		}
	}
	restoreGC := raiseGCForStartup()
	err = t.openAll(write)
	restoreGC()
	if err != nil {
		return errors.Join(err, t.stop())
	}
	var api http.Handler = t
	srv.multi.Store(t)
	srv.api.Store(&api)
	srv.ready.Store(true)
	srv.log.Info("ready", "startup_seconds", time.Since(start).Seconds(), "tenants", t.count())
	srv.cluster.markReady()
	<-srv.closed
	srv.ready.Store(false)
	srv.closeDistributor()
	if err := t.stop(); err != nil {
		return err
	}
	srv.log.Info("storage closed")
	return nil
}

// count returns how many stacks are open.
func (t *tenants) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.stacks)
}

// walError returns the WAL error of the first tenant, by id, whose WAL
// cannot write (head.Head.WALError), nil if every WAL writes.
func (t *tenants) walError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := slices.Sorted(maps.Keys(t.stacks))
	for _, id := range ids {
		if err := t.stacks[id].head.WALError(); err != nil {
			return fmt.Errorf("tenant %s: %w", id, err)
		}
	}
	return nil
}

// tenantsDir is the directory holding one directory per tenant.
func (srv *server) tenantsDir() string { return filepath.Join(srv.s.StoragePath, "tenants") }

// openAll opens the stack of every tenant directory, replaying the WALs
// one per core at once, with write as their remote-write handler. A
// directory whose name is no valid tenant id is an error: it was not made
// by this server.
func (t *tenants) openAll(write http.Handler) error {
	t.mu.Lock()
	t.write = write
	t.mu.Unlock()
	ents, err := os.ReadDir(t.srv.tenantsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if err := tenant.Validate(e.Name()); err != nil {
			return fmt.Errorf("tenant directory %s: %w", filepath.Join(t.srv.tenantsDir(), e.Name()), err)
		}
		ids = append(ids, e.Name())
	}
	// The WALs replay side by side, one per core.
	errs := make([]error, len(ids))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, errs[i] = t.get(id)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// opening is a stack being opened: done is closed once st or err is set.
type opening struct {
	done chan struct{}
	st   *stack
	err  error
}

// get returns the stack of tenant id, a valid id, opening it and starting
// its loops if it is not open yet. One get opens a tenant's stack; the
// others asking for it meanwhile wait for it, and the other tenants' are
// served. After a failed open the next get tries again.
func (t *tenants) get(id string) (*stack, error) {
	t.mu.Lock()
	if st, ok := t.stacks[id]; ok {
		t.mu.Unlock()
		return st, nil
	}
	if o, ok := t.opening[id]; ok {
		t.mu.Unlock()
		<-o.done
		return o.st, o.err
	}
	if t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("open tenant %s: %w", id, model.ErrClosed)
	}
	o := &opening{done: make(chan struct{})}
	t.opening[id] = o
	t.opens.Add(1)
	t.mu.Unlock()
	defer t.opens.Done()

	o.st, o.err = t.open(id)
	t.mu.Lock()
	delete(t.opening, id)
	if o.err == nil {
		t.stacks[id] = o.st
		t.startLoops(o.st)
	}
	t.mu.Unlock()
	close(o.done)
	return o.st, o.err
}

// open opens the stack of tenant id.
func (t *tenants) open(id string) (*stack, error) {
	srv := t.srv
	dir := filepath.Join(srv.tenantsDir(), id)
	cacheDir := filepath.Join(dir, "block-cache")
	if srv.s.BlockCacheDir != "" {
		cacheDir = filepath.Join(srv.s.BlockCacheDir, id)
	}
	st, err := srv.openStack(stackEnv{
		id: id, dir: dir, cacheDir: cacheDir,
		bucket: noCloseBucket{objstore.NewPrefixedBucket(t.bucket, id)},
		reg:    prometheus.WrapRegistererWith(prometheus.Labels{"tenant": id}, srv.reg),
		write:  t.write,
		// Set before any stack opens, as write.
		internalWrite: t.internalWrite,
	})
	if err != nil {
		return nil, fmt.Errorf("open tenant %s: %w", id, err)
	}
	return st, nil
}

// startLoops runs the storage loops of st until t.ctx is done; a loop
// returning earlier reports its error to the manager's actor. t.mu is
// held, and stop has not passed t.opens.Wait yet.
func (t *tenants) startLoops(st *stack) {
	for _, loop := range t.srv.storageLoops() {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			err := loop.run(t.ctx, st.blocks)
			if t.ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("returned while the server runs")
			}
			select {
			case t.failed <- fmt.Errorf("tenant %s: %s: %w", st.id, loop.what, err):
			default:
			}
		}()
	}
}

// stop opens no more stacks, waits for those being opened, ends the
// loops, waits for them, and closes every stack and the bucket.
func (t *tenants) stop() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.opens.Wait() // every stack being opened is in t.stacks
	t.cancel()
	t.wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, st := range t.stacks {
		t.srv.cluster.flush(st) // a node leaving the cluster
		errs = append(errs, st.close())
	}
	if t.bucket != nil {
		errs = append(errs, t.bucket.Close())
	}
	return errors.Join(errs...)
}

// TenantAppender returns an appender of the tenant's head, opening its
// stack if needed (remote.TenantAppendable).
func (t *tenants) TenantAppender(id string) (remote.Appender, error) {
	st, err := t.get(id)
	if err != nil {
		return nil, err
	}
	return st.head.Appender(), nil
}

// Appender is never called: the write handler appends through
// TenantAppender (remote.TenantAppendable).
func (t *tenants) Appender() remote.Appender {
	panic("BUG: the tenants' write handler appends through TenantAppender")
}

// ServeHTTP is the tenant router of the data endpoints: it reads the
// request's X-Scope-OrgID header (401 without one, 400 for an invalid
// id) and serves the request with its tenant's stack, the id in its
// context for the remote-write handler.
func (t *tenants) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(tenant.Header)
	if id == "" {
		http.Error(w, "no tenant: the request must name its tenant in the "+tenant.Header+" header", http.StatusUnauthorized)
		return
	}
	if strings.Contains(id, "|") {
		t.serveFederated(w, r, id)
		return
	}
	if st := t.stackOf(w, id); st != nil {
		st.api.ServeHTTP(w, r.WithContext(tenant.WithID(r.Context(), id)))
	}
}

// stackOf returns the stack of tenant id, opening it if needed, or nil
// after answering why not: 400 for an invalid id, 503 while shutting
// down, 500 when its storage does not open.
func (t *tenants) stackOf(w http.ResponseWriter, id string) *stack {
	if err := tenant.Validate(id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil
	}
	st, err := t.get(id)
	if errors.Is(err, model.ErrClosed) {
		http.Error(w, "gorilla-remote is shutting down", http.StatusServiceUnavailable)
		return nil
	}
	if err != nil {
		t.srv.log.Error("open tenant", "tenant", id, "err", err)
		http.Error(w, "open the tenant's storage: "+err.Error(), http.StatusInternalServerError)
		return nil
	}
	return st
}

// noCloseBucket is a tenant's view of the shared bucket: closing a stack
// leaves the bucket open for the others; stop closes it.
type noCloseBucket struct{ objstore.Bucket }

func (noCloseBucket) Close() error { return nil }
