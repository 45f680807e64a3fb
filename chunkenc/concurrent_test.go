package chunkenc

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIterateWhileAppending relies on the race detector: iterators created
// under the chunk's lock must not touch bytes that a concurrent Append
// modifies afterwards.
func TestIterateWhileAppending(t *testing.T) {
	value := func(i int) float64 { return float64(i%7) * 1.5 }
	c := NewXORChunk()
	app, err := c.Appender()
	require.NoError(t, err)
	var mu sync.Mutex
	const total = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			mu.Lock()
			err := app.Append(int64(i)*1000+int64(i%3), value(i))
			mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var it Iterator
	for range 200 {
		mu.Lock()
		c.Iterator(&it)
		mu.Unlock()
		n := 0
		for it.Next() {
			ts, v := it.At()
			if ts != int64(n)*1000+int64(n%3) || v != value(n) {
				t.Fatalf("sample %d: got (%d, %v)", n, ts, v)
			}
			n++
		}
		require.NoError(t, it.Err())
	}
	<-done
}
