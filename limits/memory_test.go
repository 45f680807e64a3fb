package limits

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

func TestMemoryGuardCachesReading(t *testing.T) {
	clk := newFakeClock()
	reads := 0
	heap := uint64(50)
	g := NewMemoryGuard(100, MemoryGuardOptions{
		Refresh:  time.Second,
		ReadHeap: func() uint64 { reads++; return heap },
		Now:      clk.now,
	})
	require.NoError(t, g.Check())
	heap = 200
	require.NoError(t, g.Check(), "the reading is reused until it is stale")
	require.Equal(t, 1, reads)
	clk.add(time.Second)
	require.ErrorIs(t, g.Check(), model.ErrMemoryLimit)
	require.Equal(t, 2, reads)
}

func TestMemoryGuardDisabledAndRuntime(t *testing.T) {
	require.NoError(t, NewMemoryGuard(0, MemoryGuardOptions{}).Check())
	g := NewMemoryGuard(1, MemoryGuardOptions{})
	require.Positive(t, g.InUse(), "the runtime reports a heap")
	require.ErrorIs(t, g.Check(), model.ErrMemoryLimit)
}

func TestAvailableMemory(t *testing.T) {
	mk := func(files map[string]string) string {
		root := t.TempDir()
		for p, c := range files {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
			writeFile(t, filepath.Join(root, p), c)
		}
		return root
	}
	meminfo := "MemTotal:        2048 kB\nMemFree:  1 kB\n"
	for name, c := range map[string]struct {
		files map[string]string
		want  uint64
	}{
		"cgroup v2":         {map[string]string{"sys/fs/cgroup/memory.max": "1048576\n", "proc/meminfo": meminfo}, 1 << 20},
		"cgroup v2 max":     {map[string]string{"sys/fs/cgroup/memory.max": "max\n", "proc/meminfo": meminfo}, 2 << 20},
		"cgroup v1":         {map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "4096\n"}, 4096},
		"cgroup v1 nolimit": {map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n", "proc/meminfo": meminfo}, 2 << 20},
		"nothing":           {nil, 0},
	} {
		require.Equal(t, c.want, AvailableMemory(mk(c.files)), name)
	}
}
