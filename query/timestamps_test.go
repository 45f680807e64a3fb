package query

import (
	"fmt"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// base is the start of a block window.
const base = int64(1_700_006_400_000)

var upMatcher = labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")

// TestBadTimestampHidesNoSeries: one sample far outside the range beside
// normal series must not hide them from queries, stop sealing, or survive
// a restart as a hazard.
func TestBadTimestampHidesNoSeries(t *testing.T) {
	for _, bad := range []int64{math.MinInt64, -9223372036854000000, math.MaxInt64, model.MinTime - 1, model.MaxTime + 1} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			s := newStack(t)
			want := map[string][]model.Sample{}
			app := s.head.Appender()
			// Three closed windows and the out-of-order window after them.
			for ts := base; ts <= base+4*window; ts += 10 * 60_000 {
				for _, inst := range []string{"a", "b"} {
					lset := labels.FromStrings("__name__", "up", "instance", inst)
					_, err := app.Append(0, lset, ts, float64(ts))
					require.NoError(t, err)
					want[lset.String()] = append(want[lset.String()], model.Sample{T: ts, V: float64(ts)})
				}
			}
			if _, err := app.Append(0, labels.FromStrings("__name__", "up", "instance", "bad"), bad, 1); err != nil {
				require.ErrorIs(t, err, model.ErrTimestampOutOfRange)
			}
			require.NoError(t, app.Commit())

			requireSameSeries(t, want, s.read(t, math.MinInt64, math.MaxInt64, upMatcher))
			s.seal(t)
			require.Len(t, s.store.AllMetas(), 3, "the three closed windows are sealed")
			require.Equal(t, 2*3*12, s.blockSamples(t))
			// The head releases what is in the bucket: the blocks answer.
			s.head.Truncate(math.MaxInt64)
			requireSameSeries(t, want, s.read(t, math.MinInt64, math.MaxInt64, upMatcher))
			s.restart(t)
			requireSameSeries(t, want, s.read(t, math.MinInt64, math.MaxInt64, upMatcher))
			requireSameSeries(t, want, s.read(t, base, base+4*window, upMatcher))
		})
	}
}

// headWithMinTime reports a min time of its own choosing, as a head that
// took a sample outside the range before the range was enforced did.
type headWithMinTime struct {
	*head.Head
	min int64
}

func (h headWithMinTime) MinTime() int64 { return h.min }

// TestBoundaryOfMinTimesOutOfRange: whatever min time the head reports, the
// split between blocks and head does not overflow: a head that says it
// holds everything from far back answers alone, one that says it holds
// nothing leaves the blocks to answer.
func TestBoundaryOfMinTimesOutOfRange(t *testing.T) {
	h, n := threeWindows(t)
	blocks := sealWindows(t, h, 0, 1)
	inBlocks := n - 2*int(window/60_000) // the third window is in the head only
	for minT, want := range map[int64]int{
		math.MinInt64: n, -9223372036854000000: n, model.MinTime - 1: n, model.MinTime: n, 0: n,
		model.MaxTime: inBlocks, model.MaxTime + 1: inBlocks, math.MaxInt64 - 1: inBlocks,
	} {
		q := NewWithBlocks(headWithMinTime{h, minT}, blocks)
		require.Equal(t, want, collect(t, q, math.MinInt64, math.MaxInt64), "head min time %d", minT)
		require.Equal(t, want, collect(t, q, 0, 3*window), "head min time %d", minT)
		require.Equal(t, want, countChunkSamples(t, q, math.MinInt64, math.MaxInt64), "head min time %d", minT)
	}
}
