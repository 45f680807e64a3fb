package query

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// edgeTimes are the timestamps FuzzTimestamps starts from (an offset of
// -128..127 ms is added): both ends of int64 and of the accepted range, the
// first times that overflowed window arithmetic, and window boundaries
// around the epoch and in the present.
var edgeTimes = func() []int64 {
	bd := head.DefaultBlockDuration.Milliseconds()
	return []int64{
		math.MinInt64, -9223372036854000000, -9223372036000000000,
		model.MinTime, model.WindowStart(model.MinTime, bd) + bd,
		-2 * bd, -bd, 0, bd, 2 * bd,
		base, base + bd/2, base + bd, base + 2*bd, base + 3*bd, base + 4*bd,
		model.WindowStart(model.MaxTime, bd) - bd, model.WindowStart(model.MaxTime, bd), model.MaxTime,
		9223372036000000000, math.MaxInt64,
	}
}()

// FuzzTimestamps drives a head, its block shipper to a filesystem bucket,
// the block store and the queryable with appends at timestamps near the
// edges of time, sealing, releasing sealed data from memory and restarts.
// Every sample in range that the head took is read back exactly, from the
// head and through the queryable, as samples and as chunks; every sample
// out of range is refused with model.ErrTimestampOutOfRange; nothing
// panics.
//
// The input is a list of operations, one byte each plus their operands:
//
//	op%8 in 0..3  append at edgeTimes[a] + int8(b) to series op%3: 2 operands
//	op%8 == 4     append at any timestamp (8 bytes, big endian) to series 0
//	op%8 == 5     seal closed windows and upload them
//	op%8 == 6     restart (the head replays its WAL)
//	op%8 == 7     release uploaded data from memory, then query a range
//	              between two edge times (2 operands)
func FuzzTimestamps(f *testing.F) {
	e := func(ts int64) byte { return byte(slices.Index(edgeTimes, ts)) }
	f.Add([]byte{0, e(math.MinInt64), 0, 1, e(base), 0, 2, e(base + 4*head.DefaultBlockDuration.Milliseconds()), 0, 5, 6, 7, 0, 20})
	f.Add([]byte{0, e(base), 0, 1, e(model.MaxTime), 0, 2, e(model.MaxTime), 128, 5, 7, 0, 20, 6})
	f.Add([]byte{0, e(model.MinTime), 0, 0, e(model.MinTime), 1, 1, e(0), 255, 1, e(0), 1, 0, e(math.MaxInt64), 0, 5, 6})
	f.Add([]byte{4, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, e(-9223372036854000000), 0, 0, e(base), 0, 5, 7, 1, 12, 6})
	f.Add([]byte{0, e(model.MaxTime), 127, 2, e(model.MaxTime), 0, 5, 2, e(model.MaxTime), 255, 6, 7, 0, 20})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64] // bounds the work of one input
		}
		runTimestampOps(t, ops)
	})
}

// timestampRun is the state of one FuzzTimestamps input.
type timestampRun struct {
	s    *stack
	want map[string][]model.Sample // every sample stored, by series, in time order
	n    int                       // appends so far: each gets its own value
}

var fuzzSeries = []labels.Labels{
	labels.FromStrings("__name__", "fz", "i", "0"),
	labels.FromStrings("__name__", "fz", "i", "1"),
	labels.FromStrings("__name__", "fz", "i", "2"),
}

var fuzzMatcher = labels.MustNewMatcher(labels.MatchEqual, "__name__", "fz")

func runTimestampOps(t *testing.T, ops []byte) {
	r := &timestampRun{s: newStack(t), want: map[string][]model.Sample{}}
	next := func() byte {
		if len(ops) == 0 {
			return 0
		}
		b := ops[0]
		ops = ops[1:]
		return b
	}
	for len(ops) > 0 {
		op := next()
		switch op % 8 {
		case 0, 1, 2, 3:
			ts := edgeTimes[int(next())%len(edgeTimes)] + int64(int8(next()))
			r.append(t, fuzzSeries[int(op)%len(fuzzSeries)], ts)
		case 4:
			var b [8]byte
			for i := range b {
				b[i] = next()
			}
			r.append(t, fuzzSeries[0], int64(binary.BigEndian.Uint64(b[:])))
		case 5:
			r.s.seal(t)
		case 6:
			r.s.restart(t)
		case 7:
			r.s.head.Truncate(math.MaxInt64)
			a, b := edgeTimes[int(next())%len(edgeTimes)], edgeTimes[int(next())%len(edgeTimes)]
			r.check(t, min(a, b), max(a, b))
		}
	}
	r.check(t, math.MinInt64, math.MaxInt64)
	r.s.restart(t)
	r.check(t, math.MinInt64, math.MaxInt64)
}

// append appends one sample in its own commit and records it when taken.
func (r *timestampRun) append(t *testing.T, lset labels.Labels, ts int64) {
	r.n++
	v := float64(r.n)
	app := r.s.head.Appender()
	_, err := app.Append(0, lset, ts, v)
	switch {
	case !model.ValidTime(ts):
		require.ErrorIs(t, err, model.ErrTimestampOutOfRange, "timestamp %d is out of range", ts)
	case err == nil:
		require.NoError(t, app.Commit(), "sample at %d", ts)
		key := lset.String()
		i, found := slices.BinarySearchFunc(r.want[key], ts, func(s model.Sample, ts int64) int { return cmp.Compare(s.T, ts) })
		require.False(t, found, "a second value at %d was accepted", ts)
		r.want[key] = slices.Insert(r.want[key], i, model.Sample{T: ts, V: v})
		return
	default:
		if !errors.Is(err, model.ErrOutOfWindow) && !errors.Is(err, model.ErrDuplicateSample) {
			t.Fatalf("sample at %d: unexpected error %v", ts, err)
		}
	}
	require.NoError(t, app.Rollback())
}

// check reads [mint, maxt] through the queryable and the head.
func (r *timestampRun) check(t *testing.T, mint, maxt int64) {
	t.Helper()
	want := map[string][]model.Sample{}
	for k, ss := range r.want {
		for _, s := range ss {
			if s.T >= mint && s.T <= maxt {
				want[k] = append(want[k], s)
			}
		}
	}
	requireSameSeries(t, want, r.s.read(t, mint, maxt, fuzzMatcher))

	// The head holds a part of it: every sample from its min time on, and
	// older ones not yet released, all exact.
	h := r.s.head
	got, err := h.Select(context.Background(), mint, maxt, fuzzMatcher)
	require.NoError(t, err)
	held := map[string]map[int64]float64{}
	for _, s := range got {
		m := map[int64]float64{}
		it := s.Iterator(nil)
		for it.Next() {
			ts, v := it.At()
			m[ts] = v
		}
		require.NoError(t, it.Err())
		held[s.Labels.String()] = m
	}
	for name, ws := range want {
		m := held[name]
		for _, w := range ws {
			v, ok := m[w.T]
			if ok && !model.SameValue(v, w.V) {
				t.Fatalf("%s at %d: head holds %v, want %v", name, w.T, v, w.V)
			}
			if !ok && w.T >= h.MinTime() {
				t.Fatalf("%s at %d: missing from the head, whose min time is %d", name, w.T, h.MinTime())
			}
			delete(m, w.T)
		}
	}
	for name, m := range held {
		require.Empty(t, m, "%s: samples the head should not hold", name)
	}
}
