package limits

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLogThrottle(t *testing.T) {
	clk := newFakeClock()
	th := NewLogThrottle(10*time.Second, clk.now)
	require.True(t, th.Allow(Anonymous, "a"))
	require.False(t, th.Allow(Anonymous, "a"))
	require.True(t, th.Allow(Anonymous, "b"), "each reason has its own interval")
	require.True(t, th.Allow("other", "a"), "each tenant has its own interval")
	clk.add(10 * time.Second)
	require.True(t, th.Allow(Anonymous, "a"))
}
