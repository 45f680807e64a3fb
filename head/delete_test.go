package head

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

func sampleTimes(t *testing.T, h *Head, lset labels.Labels) []int64 {
	t.Helper()
	got, err := h.Range(lset, 0, 1<<40)
	require.NoError(t, err)
	var out []int64
	for _, s := range got {
		out = append(out, s.T)
	}
	return out
}

func TestDeleteRangeDropsSamplesAndKeepsAppending(t *testing.T) {
	h := openTest(t, func(o *Options) { o.OutOfOrderWindow = 3 * time.Hour })
	a := labels.FromStrings("__name__", "m", "i", "a")
	b := labels.FromStrings("__name__", "m", "i", "b")
	const hour = int64(time.Hour / time.Millisecond)
	app := h.Appender()
	// a: every 10 minutes over two block windows plus one in the third;
	// one out-of-order sample waits in the buffer.
	for ts := int64(0); ts <= 4*hour; ts += 10 * 60_000 {
		if ts == hour+5*60_000 {
			continue
		}
		_, err := app.Append(0, a, ts, 1)
		require.NoError(t, err)
		_, err = app.Append(0, b, ts, 1)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	require.NoError(t, h.Append(a, hour+5*60_000, 2))

	n, err := h.DeleteRange(context.Background(), hour, 3*hour+30*60_000, labels.MustNewMatcher(labels.MatchEqual, "i", "a"))
	require.NoError(t, err)
	require.Equal(t, 6+1+6+4, n, "the rest of window 0 with the out-of-order one, and the start of window 1")

	var want []int64
	for ts := int64(0); ts < hour; ts += 10 * 60_000 {
		want = append(want, ts)
	}
	want = append(want, 3*hour+40*60_000, 3*hour+50*60_000, 4*hour)
	require.Equal(t, want, sampleTimes(t, h, a))
	require.Len(t, sampleTimes(t, h, b), 25, "other series keep theirs")

	// Deleting the newest samples: the series keeps taking samples after
	// its new newest one, and refuses none of them as duplicates.
	_, err = h.DeleteRange(context.Background(), 3*hour+45*60_000, 5*hour, labels.MustNewMatcher(labels.MatchEqual, "i", "a"))
	require.NoError(t, err)
	require.NoError(t, h.Append(a, 4*hour, 3))
	require.NoError(t, h.Append(a, 4*hour+60_000, 4))
	got := sampleTimes(t, h, a)
	require.Equal(t, []int64{3*hour + 40*60_000, 4 * hour, 4*hour + 60_000}, got[len(got)-3:])

	// A whole series deleted keeps accepting new samples.
	_, err = h.DeleteRange(context.Background(), 0, 5*hour, labels.MustNewMatcher(labels.MatchEqual, "i", "b"))
	require.NoError(t, err)
	require.Empty(t, sampleTimes(t, h, b))
	require.NoError(t, h.Append(b, 5*hour, 1))
	require.Equal(t, []int64{5 * hour}, sampleTimes(t, h, b))
}
