package block

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/thanos-io/objstore"
)

// DefaultCacheBytes is the cache size a zero StoreOptions.CacheBytes means.
const DefaultCacheBytes = 10 << 30

// syncConcurrency bounds the meta.json fetches of one Sync.
const syncConcurrency = 16

// DefaultMaxConcurrentDownloads is the download bound a zero
// StoreOptions.MaxConcurrentDownloads means: enough to overlap the
// downloads of a few queries, few enough not to starve the bucket.
const DefaultMaxConcurrentDownloads = 8

var (
	// ErrUnknownBlock is returned by Store.Open for a block the last Sync
	// did not find complete in the bucket.
	ErrUnknownBlock = errors.New("block not known in the bucket")
	// ErrStoreClosed is returned by calls on a closed Store.
	ErrStoreClosed = errors.New("block store is closed")
)

// StoreOptions configure a Store.
type StoreOptions struct {
	Bucket     objstore.Bucket // required
	CacheDir   string          // where downloaded blocks live; required
	CacheBytes int64           // LRU limit over whole downloaded blocks; 0 means DefaultCacheBytes
	Logger     *slog.Logger    // nil: discard
	Registerer prometheus.Registerer
	// MaxConcurrentDownloads bounds the blocks downloaded at once across all
	// Opens; others wait for a slot (or their ctx). 0 means
	// DefaultMaxConcurrentDownloads.
	MaxConcurrentDownloads int
}

// Store lists the blocks of a bucket and serves them from a local disk
// cache. Blocks are downloaded whole on first Open, pinned while in use and,
// once unpinned, evicted least recently used first when the cache exceeds
// its size. A Store is safe for concurrent use.
type Store struct {
	opts    StoreOptions
	log     *slog.Logger
	metrics *storeMetrics
	// downloads holds one token per block being downloaded; its capacity
	// is MaxConcurrentDownloads.
	downloads chan struct{}

	mu        sync.Mutex // guards the fields below
	closed    bool
	metas     map[ulid.ULID]Meta        // complete blocks in the bucket
	cache     map[ulid.ULID]*cacheEntry // blocks on local disk
	inflight  map[ulid.ULID]*fetch      // downloads in progress
	cacheSize int64                     // bytes of the blocks in cache
	tick      uint64                    // use counter for LRU order
	seq       uint64                    // names of directories being removed

	removals sync.WaitGroup // directory removals in flight; Close waits
}

// cacheEntry is a block in the local cache.
type cacheEntry struct {
	id      ulid.ULID
	dir     string
	size    int64
	block   *Block // nil until opened (blocks found on disk at start)
	pins    int
	lastUse uint64
	gone    bool // deleted from the bucket: drop on last release
}

// fetch is one download in progress; waiters block on done.
type fetch struct {
	done chan struct{}
	err  error
}

// NewStore returns a store over opts.Bucket. It reuses complete blocks left
// in CacheDir by an earlier run and removes partial downloads; it does not
// touch the network (call Sync).
func NewStore(opts StoreOptions) (*Store, error) {
	if opts.Bucket == nil || opts.CacheDir == "" {
		return nil, errors.New("block store: Bucket and CacheDir are required")
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConcurrentDownloads <= 0 {
		opts.MaxConcurrentDownloads = DefaultMaxConcurrentDownloads
	}
	m, err := newStoreMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("block store: %w", err)
	}
	s := &Store{
		opts:      opts,
		log:       opts.Logger,
		metrics:   m,
		metas:     map[ulid.ULID]Meta{},
		downloads: make(chan struct{}, opts.MaxConcurrentDownloads),
		cache:     map[ulid.ULID]*cacheEntry{},
		inflight:  map[ulid.ULID]*fetch{},
	}
	if err := s.loadCacheDir(); err != nil {
		m.unregister()
		return nil, fmt.Errorf("block store: %w", err)
	}
	return s, nil
}

// loadCacheDir registers the complete blocks in CacheDir and removes the rest.
func (s *Store) loadCacheDir() error {
	if err := os.MkdirAll(s.opts.CacheDir, 0o777); err != nil {
		return err
	}
	ents, err := os.ReadDir(s.opts.CacheDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(s.opts.CacheDir, e.Name())
		id, perr := ulid.ParseStrict(e.Name())
		if perr != nil {
			if strings.Contains(e.Name(), tmpSuffix) || strings.Contains(e.Name(), ".del") {
				_ = os.RemoveAll(p)
			}
			continue
		}
		size, serr := dirSize(p)
		if _, merr := ReadMeta(p); merr != nil || serr != nil {
			_ = os.RemoveAll(p)
			continue
		}
		s.cache[id] = &cacheEntry{id: id, dir: p, size: size}
		s.cacheSize += size
	}
	s.metrics.cachedBytes.Set(float64(s.cacheSize))
	s.evictLocked()
	return nil
}

// Sync lists <ULID>/meta.json in the bucket and refreshes the known blocks.
// Directories without meta.json are incomplete and ignored; blocks gone from
// the bucket are forgotten and dropped from the cache (when unpinned).
func (s *Store) Sync(ctx context.Context) error {
	var ids []ulid.ULID
	err := s.opts.Bucket.Iter(ctx, "", func(name string) error {
		if id, err := ulid.ParseStrict(strings.TrimSuffix(name, "/")); err == nil && strings.HasSuffix(name, "/") {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		s.metrics.syncFailures.Inc()
		return fmt.Errorf("sync blocks: list bucket: %w", err)
	}
	s.mu.Lock()
	known := maps.Clone(s.metas)
	s.mu.Unlock()
	metas, err := s.fetchMetas(ctx, ids, known)
	if err != nil {
		s.metrics.syncFailures.Inc()
		return fmt.Errorf("sync blocks: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	s.metas = metas
	for id, e := range s.cache {
		_, ok := metas[id]
		e.gone = !ok
		if !ok && e.pins == 0 {
			s.dropLocked(e)
		}
	}
	s.metrics.known.Set(float64(len(metas)))
	return nil
}

// fetchMetas returns the metas of the complete blocks among ids, reusing
// known ones (a meta.json never changes) and fetching the others.
func (s *Store) fetchMetas(ctx context.Context, ids []ulid.ULID, known map[ulid.ULID]Meta) (map[ulid.ULID]Meta, error) {
	out := make(map[ulid.ULID]Meta, len(ids))
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		sem  = make(chan struct{}, syncConcurrency)
	)
	for _, id := range ids {
		if m, ok := known[id]; ok {
			// The fetches started so far write out concurrently.
			mu.Lock()
			out[id] = m
			mu.Unlock()
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			m, ok, err := s.fetchMeta(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case ok:
				out[id] = m
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// fetchMeta reads <id>/meta.json; ok is false for an incomplete block.
// A corrupt meta.json is logged and the block skipped.
func (s *Store) fetchMeta(ctx context.Context, id ulid.ULID) (Meta, bool, error) {
	name := path.Join(id.String(), MetaFilename)
	r, err := s.opts.Bucket.Get(ctx, name)
	if s.opts.Bucket.IsObjNotFoundErr(err) {
		return Meta{}, false, nil
	}
	if err != nil {
		return Meta{}, false, fmt.Errorf("get %s: %w", name, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return Meta{}, false, fmt.Errorf("read %s: %w", name, err)
	}
	m, err := parseMeta(buf.Bytes())
	if err == nil && m.ULID != id {
		err = fmt.Errorf("meta.json names block %s", m.ULID)
	}
	if err != nil {
		s.log.Warn("skipping block with a bad meta.json", "block", id, "err", err)
		return Meta{}, false, nil
	}
	return m, true, nil
}

// Metas returns the known complete blocks overlapping [mint, maxt], sorted
// by MinTime. Blocks with the same MinTime, MaxTime, resolution and external
// labels (a window uploaded twice after a crash) count once: the lowest ULID
// wins. Blocks whose external labels differ are all returned: the replica
// blocks of one window, which differ by NodeLabel, and the block merged from
// them (no NodeLabel) while the replicas are not yet deleted. Readers merge
// those (MergeReplicas); they never hide one another here.
func (s *Store) Metas(mint, maxt int64) []Meta {
	type key struct {
		mint, maxt, res int64
		labels          string
	}
	best := map[key]Meta{}
	s.mu.Lock()
	for _, m := range s.metas {
		if !m.Overlaps(mint, maxt) {
			continue
		}
		k := key{m.MinTime, m.MaxTime, m.Thanos.Downsample.Resolution, labelsKey(m.Thanos.Labels)}
		if b, ok := best[k]; !ok || m.ULID.Compare(b.ULID) < 0 {
			best[k] = m
		}
	}
	s.mu.Unlock()
	return sortMetas(slices.Collect(maps.Values(best)))
}

// AllMetas returns every known complete block, duplicates included, sorted
// by MinTime.
func (s *Store) AllMetas() []Meta {
	s.mu.Lock()
	out := slices.Collect(maps.Values(s.metas))
	s.mu.Unlock()
	return sortMetas(out)
}

func sortMetas(ms []Meta) []Meta {
	slices.SortFunc(ms, func(a, b Meta) int {
		return cmp.Or(cmp.Compare(a.MinTime, b.MinTime), a.ULID.Compare(b.ULID))
	})
	return ms
}

// labelsKey renders external labels canonically.
func labelsKey(ls map[string]string) string {
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		fmt.Fprintf(&sb, "%q=%q,", k, ls[k])
	}
	return sb.String()
}

// Open returns block id from the local cache, downloading it first if
// needed (into a temporary directory, then renamed), and pins it until
// release is called. Concurrent Opens of one block download it once; at
// most MaxConcurrentDownloads blocks download at once, the others wait.
func (s *Store) Open(ctx context.Context, id ulid.ULID) (b *Block, release func(), err error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, nil, ErrStoreClosed
		}
		if e, ok := s.cache[id]; ok && !e.gone {
			b, err := s.pinLocked(e)
			s.mu.Unlock()
			if err != nil {
				return nil, nil, err
			}
			s.metrics.hits.Inc()
			return b, s.releaser(e), nil
		}
		if f, ok := s.inflight[id]; ok {
			s.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
			if f.err != nil && !(errors.Is(f.err, context.Canceled) && ctx.Err() == nil) {
				return nil, nil, f.err
			}
			continue
		}
		meta, ok := s.metas[id]
		if !ok {
			s.mu.Unlock()
			return nil, nil, fmt.Errorf("open block %s: %w", id, ErrUnknownBlock)
		}
		f := &fetch{done: make(chan struct{})}
		s.inflight[id] = f
		s.mu.Unlock()
		s.metrics.misses.Inc()

		e, err := s.fetchBlock(ctx, meta)
		s.mu.Lock()
		if err == nil && s.closed {
			err = ErrStoreClosed
		}
		if err == nil {
			s.cache[id] = e
			s.cacheSize += e.size
			s.metrics.cachedBytes.Set(float64(s.cacheSize))
			b, err = s.pinLocked(e)
			s.evictLocked()
		}
		f.err = err
		delete(s.inflight, id)
		close(f.done)
		s.mu.Unlock()
		if err != nil {
			return nil, nil, err
		}
		return b, s.releaser(e), nil
	}
}

// fetchBlock downloads a block into the cache directory, once one of the
// MaxConcurrentDownloads slots is free.
func (s *Store) fetchBlock(ctx context.Context, meta Meta) (*cacheEntry, error) {
	id := meta.ULID
	select {
	case s.downloads <- struct{}{}:
		defer func() { <-s.downloads }()
	case <-ctx.Done():
		return nil, fmt.Errorf("download block %s: wait for a download slot: %w", id, ctx.Err())
	}
	tmp, err := os.MkdirTemp(s.opts.CacheDir, id.String()+tmpSuffix+"-*")
	if err != nil {
		return nil, fmt.Errorf("download block %s: %w", id, err)
	}
	var size int64
	err = download(ctx, s.opts.Bucket, id, tmp, func(n int64) {
		size += n
		s.metrics.downloadBytes.Add(float64(n))
	})
	if err == nil {
		err = checkSizes(tmp, meta)
	}
	dir := filepath.Join(s.opts.CacheDir, id.String())
	if err == nil {
		err = commitDir(tmp, dir)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("download block %s: %w", id, err)
	}
	s.log.Debug("downloaded block", "block", id, "bytes", size)
	return &cacheEntry{id: id, dir: dir, size: size}, nil
}

// checkSizes compares the downloaded files with the sizes meta.json lists.
// A file caught while being uploaded again (the filesystem bucket writes in
// place) fails here instead of being cached.
func checkSizes(dir string, meta Meta) error {
	for _, f := range meta.Thanos.Files {
		if f.SizeBytes == 0 {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.RelPath)))
		if err != nil {
			return fmt.Errorf("check %s: %w", f.RelPath, err)
		}
		if fi.Size() != f.SizeBytes {
			return fmt.Errorf("%s has %d bytes, meta.json lists %d", f.RelPath, fi.Size(), f.SizeBytes)
		}
	}
	return nil
}

// pinLocked opens e if needed and pins it.
func (s *Store) pinLocked(e *cacheEntry) (*Block, error) {
	if e.block == nil {
		b, err := Open(e.dir)
		if err != nil {
			s.dropLocked(e)
			return nil, fmt.Errorf("open cached block %s: %w", e.id, err)
		}
		e.block = b
	}
	e.pins++
	s.tick++
	e.lastUse = s.tick
	return e.block, nil
}

// releaser returns the release function of one pin of e; calls after the
// first do nothing.
func (s *Store) releaser(e *cacheEntry) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			e.pins--
			s.tick++
			e.lastUse = s.tick
			if s.closed {
				return
			}
			if e.gone && e.pins == 0 {
				s.dropLocked(e)
			}
			s.evictLocked()
		})
	}
}

// evictLocked drops unpinned blocks, least recently used first, until the
// cache fits its limit. Pinned blocks are never dropped.
func (s *Store) evictLocked() {
	for s.cacheSize > s.opts.CacheBytes {
		var victim *cacheEntry
		for _, e := range s.cache {
			if e.pins == 0 && (victim == nil || e.lastUse < victim.lastUse) {
				victim = e
			}
		}
		if victim == nil {
			return
		}
		s.log.Debug("evicting block from the cache", "block", victim.id, "bytes", victim.size)
		s.metrics.evictions.Inc()
		s.dropLocked(victim)
	}
}

// dropLocked closes an unpinned block, forgets it and deletes its directory.
// The directory is renamed first, so a new download of the same block never
// meets the removal; the removal itself runs outside the lock.
func (s *Store) dropLocked(e *cacheEntry) {
	if s.cache[e.id] != e {
		return
	}
	delete(s.cache, e.id)
	s.cacheSize -= e.size
	s.metrics.cachedBytes.Set(float64(s.cacheSize))
	if e.block != nil {
		if err := e.block.Close(); err != nil {
			s.log.Warn("closing evicted block", "block", e.id, "err", err)
		}
	}
	s.seq++
	trash := fmt.Sprintf("%s.del-%d", e.dir, s.seq)
	if err := os.Rename(e.dir, trash); err != nil {
		s.log.Warn("removing evicted block", "block", e.id, "err", err)
		return
	}
	s.removals.Add(1)
	go func() {
		defer s.removals.Done()
		_ = os.RemoveAll(trash)
	}()
}

// CachedBytes returns the bytes of the blocks in the local cache.
func (s *Store) CachedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cacheSize
}

// Close closes every open block and unregisters the store's metrics. Cached
// blocks stay on disk for the next NewStore; later calls fail with
// ErrStoreClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.metrics.unregister()
	var errs []error
	for _, e := range s.cache {
		if e.block != nil {
			errs = append(errs, e.block.Close())
			e.block = nil
		}
	}
	s.mu.Unlock()
	s.removals.Wait()
	return errors.Join(errs...)
}
