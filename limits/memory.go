package limits

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// DefaultMemoryRefresh is how long the memory guard trusts its last reading
// of the heap.
const DefaultMemoryRefresh = 100 * time.Millisecond

// heapMetric is the runtime/metrics name of the heap memory held by objects,
// live or not yet swept: what new series add to.
const heapMetric = "/memory/classes/heap/objects:bytes"

// MemoryGuardOptions configure a MemoryGuard. The zero value is valid.
type MemoryGuardOptions struct {
	// Refresh is how long a reading of the heap is reused. Default
	// DefaultMemoryRefresh.
	Refresh time.Duration
	// ReadHeap returns the heap bytes in use; nil reads runtime/metrics.
	ReadHeap func() uint64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// MemoryGuard refuses new series once the heap in use reaches a limit, so
// that a series spike is shed before the process runs out of memory while
// samples for existing series, which cost little, and queries go on. The
// heap is read at most once per Refresh, so Check is cheap enough for every
// new series. It is safe for concurrent use.
type MemoryGuard struct {
	limit   uint64
	refresh time.Duration
	read    func() uint64
	now     func() time.Time

	mu     sync.Mutex    // held by the one goroutine refreshing
	next   atomic.Int64  // unix nanoseconds after which the reading is stale
	inUse  atomic.Uint64 // the last reading
	sample []metrics.Sample
}

// NewMemoryGuard returns a guard with the limit in bytes; 0 disables it
// (Check always passes).
func NewMemoryGuard(limit uint64, o MemoryGuardOptions) *MemoryGuard {
	g := &MemoryGuard{limit: limit, refresh: o.Refresh, read: o.ReadHeap, now: o.Now}
	if g.refresh <= 0 {
		g.refresh = DefaultMemoryRefresh
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.read == nil {
		g.sample = []metrics.Sample{{Name: heapMetric}}
		g.read = g.readRuntime
	}
	return g
}

// Limit returns the limit in bytes, 0 when disabled.
func (g *MemoryGuard) Limit() uint64 { return g.limit }

// Check returns nil while the heap in use is below the limit, and an *Error
// wrapping model.ErrMemoryLimit at or above it.
func (g *MemoryGuard) Check() error {
	if g.limit == 0 {
		return nil
	}
	inUse := g.InUse()
	if inUse < g.limit {
		return nil
	}
	return &Error{
		Reason: ReasonMemoryLimit,
		Msg:    fmt.Sprintf("memory limit reached: %d bytes of heap in use, limit %d; new series are refused until memory is freed", inUse, g.limit),
		Err:    model.ErrMemoryLimit,
	}
}

// InUse returns the heap bytes in use, as last read (at most Refresh ago).
func (g *MemoryGuard) InUse() uint64 {
	now := g.now().UnixNano()
	if now >= g.next.Load() && g.mu.TryLock() {
		// One goroutine reads; the others use the previous reading.
		if now >= g.next.Load() {
			g.inUse.Store(g.read())
			g.next.Store(now + int64(g.refresh))
		}
		g.mu.Unlock()
	}
	return g.inUse.Load()
}

// readRuntime reads the heap in use from runtime/metrics. The caller holds
// g.mu, which guards g.sample.
func (g *MemoryGuard) readRuntime() uint64 {
	metrics.Read(g.sample)
	if g.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return g.sample[0].Value.Uint64()
}

// AvailableMemory returns the memory the process may use: the cgroup's
// memory.max (cgroup v2, or memory.limit_in_bytes of v1) when one is set,
// else the machine's MemTotal. root is the file system root, "/" outside
// tests. It returns 0 when none can be read.
func AvailableMemory(root string) uint64 {
	for _, p := range []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		raw, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		v, err := strconv.ParseUint(string(bytes.TrimSpace(raw)), 10, 64)
		// "max" (v2) or a value near 2^63 (v1) mean no limit.
		if err == nil && v > 0 && v < 1<<62 {
			return v
		}
	}
	return memTotal(filepath.Join(root, "proc/meminfo"))
}

// memTotal reads MemTotal from a /proc/meminfo file, in bytes.
func memTotal(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb uint64
		if n, _ := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	return 0
}
