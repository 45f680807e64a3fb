package head

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// edgeTimes are timestamps outside the accepted range, the last ones just
// past it, and one that overflowed window arithmetic and the first ones
// that did not.
var edgeTimes = []int64{math.MinInt64, math.MaxInt64, -9223372036854000000, model.MinTime - 1, model.MaxTime + 1}

func TestAppendRefusesTimestampsOutOfRange(t *testing.T) {
	h := openTest(t, nil)
	app := h.Appender()
	for _, ts := range edgeTimes {
		_, err := app.Append(0, series("bad"), ts, 1)
		require.ErrorIs(t, err, model.ErrTimestampOutOfRange, "timestamp %d", ts)
		require.Contains(t, err.Error(), "timestamp", "the error names the timestamp")
		_, err = app.AppendExemplar(0, series("bad"), model.Exemplar{T: ts, V: 1})
		require.ErrorIs(t, err, model.ErrTimestampOutOfRange, "exemplar at %d", ts)
	}
	for _, ts := range []int64{model.MinTime, model.MaxTime} {
		_, err := app.Append(0, series("edge", "at", time.UnixMilli(ts).String()), ts, 1)
		require.NoError(t, err, "timestamp %d is in range", ts)
	}
	require.NoError(t, app.Commit())
	require.Equal(t, model.MinTime, h.MinTime())
	require.Equal(t, model.MaxTime, h.MaxTime())
	require.Nil(t, mustRange(t, h, series("bad")))
}

// TestOneBadTimestampHidesNothing appends, beside normal series, a sample
// at each edge time: the head's time bounds, retention, checkpoints and a
// restart must behave as if it had never been sent.
func TestOneBadTimestampHidesNothing(t *testing.T) {
	for _, bad := range edgeTimes {
		t.Run(time.UnixMilli(bad).UTC().String(), func(t *testing.T) {
			h := openTest(t, nil)
			const now = int64(1_700_000_000_000)
			good := []labels.Labels{series("up", "i", "a"), series("up", "i", "b")}
			app := h.Appender()
			for _, l := range good {
				_, err := app.Append(0, l, now, 1)
				require.NoError(t, err)
			}
			// Refused (TestAppendRefusesTimestampsOutOfRange); what counts
			// here is that the other series do not suffer.
			if _, err := app.Append(0, series("up", "i", "bad"), bad, 1); err != nil {
				require.ErrorIs(t, err, model.ErrTimestampOutOfRange)
			}
			require.NoError(t, app.Commit())
			require.NoError(t, h.Append(good[0], now+15_000, 2))

			check := func(h *Head) {
				t.Helper()
				require.Equal(t, now, h.MinTime())
				require.Equal(t, now+15_000, h.MaxTime())
				requireSamples(t, []model.Sample{{T: now, V: 1}, {T: now + 15_000, V: 2}}, mustRange(t, h, good[0]))
				requireSamples(t, []model.Sample{{T: now, V: 1}}, mustRange(t, h, good[1]))
				got, err := h.Select(context.Background(), math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"))
				require.NoError(t, err)
				require.Len(t, got, 2)
			}
			check(h)
			h.Truncate(h.releaseBound(h.MaxTime()))
			check(h)
			require.NoError(t, h.Checkpoint(context.Background()))
			check(reopen(t, h))
		})
	}
}

// TestCheckpointOfEmptyHead: the window of the last checkpoint of an empty
// head must not wrap around, which would stop checkpoints at window ends.
func TestCheckpointOfEmptyHead(t *testing.T) {
	h := openTest(t, nil)
	require.NoError(t, h.Checkpoint(context.Background()))
	require.NoError(t, h.Append(series("up"), 10*DefaultBlockDuration.Milliseconds(), 1))
	h.checkpointMu.Lock()
	cw := h.checkpointWindow
	h.checkpointMu.Unlock()
	require.Less(t, cw, h.closedWindow(h.MaxTime()), "a closed window is due for a checkpoint")
}

// TestReplaySkipsTimestampsOutOfRange replays a WAL written before the
// range was enforced: samples, chunks and exemplars out of range are
// skipped and reported, every other series is served.
func TestReplaySkipsTimestampsOutOfRange(t *testing.T) {
	h := openTest(t, nil)
	const now = int64(1_700_000_000_000)
	require.NoError(t, h.Append(series("up", "i", "a"), now, 1))

	c := chunkenc.NewXORChunk()
	capp, err := c.Appender()
	require.NoError(t, err)
	require.NoError(t, capp.Append(math.MinInt64, 7))
	recs := [][]byte{
		encodeSeries(nil, []seriesRecord{{Ref: 100, Labels: series("up", "i", "bad")}, {Ref: 101, Labels: series("up", "i", "mixed")}}),
		encodeSamples(nil, []sampleRecord{
			{Ref: 101, T: now, V: 1}, {Ref: 100, T: math.MinInt64, V: 2}, {Ref: 101, T: math.MaxInt64, V: 3}, {Ref: 101, T: now + 1000, V: 4},
		}),
		encodeChunkRecord(nil, []chunkRecord{{Ref: 100, MinT: math.MinInt64, MaxT: math.MinInt64, Data: c.Bytes()}}),
		encodeExemplars(nil, []exemplarRecord{{Ref: 101, E: model.Exemplar{Labels: labels.FromStrings("trace", "x"), T: math.MinInt64, V: 1}}}),
	}
	require.NoError(t, h.wal.Log(recs...))
	require.NoError(t, h.Append(series("up", "i", "a"), now+1000, 2))
	require.NoError(t, h.Close())

	var logs bytes.Buffer
	opts := h.opts
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h2, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h2.Close() })

	requireSamples(t, []model.Sample{{T: now, V: 1}, {T: now + 1000, V: 2}}, mustRange(t, h2, series("up", "i", "a")))
	requireSamples(t, []model.Sample{{T: now, V: 1}, {T: now + 1000, V: 4}}, mustRange(t, h2, series("up", "i", "mixed")))
	require.Nil(t, mustRange(t, h2, series("up", "i", "bad")))
	require.Equal(t, now, h2.MinTime())
	require.Equal(t, now+1000, h2.MaxTime())
	ex, err := h2.Exemplars(context.Background(), math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "i", "mixed"))
	require.NoError(t, err)
	require.Empty(t, ex)

	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "out of range") {
			line = l
		}
	}
	require.NotEmpty(t, line, "the skipped data is logged:\n%s", logs.String())
	require.Contains(t, line, "samples=2")
	require.Contains(t, line, "chunks=1")
	require.Contains(t, line, "exemplars=1")
	require.Contains(t, line, `i=\"bad\"`, "the first series is named")
	require.Contains(t, line, "-9223372036854775808", "and its timestamp")

	// The replayed head works on: new samples, a checkpoint, a restart.
	require.NoError(t, h2.Append(series("up", "i", "mixed"), now+2000, 5))
	require.NoError(t, h2.Checkpoint(context.Background()))
	requireSamples(t, []model.Sample{{T: now, V: 1}, {T: now + 1000, V: 4}, {T: now + 2000, V: 5}},
		mustRange(t, reopen(t, h2), series("up", "i", "mixed")))
}

// TestCheckpointKeepsOutOfOrderSamplesOfAnyAge: a checkpoint holds the
// out-of-order samples not yet merged into chunks. They were accepted, so
// replaying them must not judge them again against the out-of-order window
// of the series' newest sample, which may have moved hours ahead since.
func TestCheckpointKeepsOutOfOrderSamplesOfAnyAge(t *testing.T) {
	for _, newest := range []int64{1_000_000 + DefaultBlockDuration.Milliseconds(), model.MaxTime} {
		// Shipping: retention, counted back from the newest sample, must
		// not release the older ones before they are shipped.
		h := openTest(t, func(o *Options) { o.Shipping = true })
		l := series("x")
		require.NoError(t, h.Append(l, 1_000_000, 1))
		require.NoError(t, h.Append(l, 900_000, 2), "out of order, inside the window")
		require.NoError(t, h.Append(l, newest, 3), "the newest sample moves ahead")
		want := []model.Sample{{T: 900_000, V: 2}, {T: 1_000_000, V: 1}, {T: newest, V: 3}}
		requireSamples(t, want, mustRange(t, h, l))
		require.NoError(t, h.Checkpoint(context.Background()))
		h = reopen(t, h)
		requireSamples(t, want, mustRange(t, h, l))
		// Samples that arrive now are judged as always.
		require.ErrorIs(t, h.Append(l, 800_000, 4), model.ErrOutOfWindow)
	}
}
