package head

import (
	"math/rand"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestStripeIsOneCacheLine(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(stripe{}))
}

// TestSeriesSizeClass pins the size of a series: 144 bytes is a size class
// of the Go allocator, and one byte more takes 160 per series.
func TestSeriesSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(memSeries{}), uintptr(144))
}

// TestSeriesTable checks the table against a map under random inserts and
// removes, with many colliding hashes (few distinct top bits).
func TestSeriesTable(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var tab seriesTable
	want := map[*memSeries]uint64{}
	var live []*memSeries
	for step := range 20000 {
		if len(live) > 0 && rng.Intn(3) == 0 {
			i := rng.Intn(len(live))
			s := live[i]
			tab.remove(want[s], s)
			delete(want, s)
			live = append(live[:i], live[i+1:]...)
		} else {
			// Hashes from a small set collide both fully and in their top bits.
			h := uint64(rng.Intn(64)) << 58
			if step%5 == 0 {
				h = rng.Uint64()
			}
			s := &memSeries{hash: h}
			tab.insert(h, s)
			want[s] = h
			live = append(live, s)
		}
		if step%500 == 0 || step == 19999 {
			require.Equal(t, len(want), tab.n)
			for s, h := range want {
				got := tab.find(h, func(x *memSeries) bool { return x == s })
				require.Same(t, s, got, "step %d", step)
			}
			require.Nil(t, tab.find(12345, func(*memSeries) bool { return true }))
		}
	}
	for _, s := range live {
		tab.remove(want[s], s)
	}
	require.Zero(t, tab.n)
	for _, sl := range tab.slots {
		require.Nil(t, sl.s)
	}
}
