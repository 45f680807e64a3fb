package query

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// readAll returns the samples of every series matching ms in [mint, maxt]
// through the sample querier and, separately, through the chunk querier
// (the path of remote read), by series; series without samples are
// listed with none.
func readAll(t *testing.T, q *Queryable, mint, maxt int64, ms ...*labels.Matcher) (samples, chunked map[string][]int64) {
	t.Helper()
	ctx := context.Background()
	sq, err := q.Querier(mint, maxt)
	require.NoError(t, err)
	defer sq.Close()
	samples = map[string][]int64{}
	ss := sq.Select(ctx, true, nil, ms...)
	for ss.Next() {
		it := ss.At().Iterator(nil)
		ts := []int64{}
		for it.Next() != 0 {
			ts = append(ts, it.AtT())
		}
		require.NoError(t, it.Err())
		samples[ss.At().Labels().Get("instance")] = ts
	}
	require.NoError(t, ss.Err())

	cq, err := q.ChunkQuerier(mint, maxt)
	require.NoError(t, err)
	defer cq.Close()
	chunked = map[string][]int64{}
	cs := cq.Select(ctx, true, nil, ms...)
	for cs.Next() {
		ci := cs.At().Iterator(nil)
		ts := []int64{}
		for ci.Next() {
			m := ci.At()
			it := chunkenc.NewIterator(m.Chunk.Bytes())
			for it.Next() {
				st, _ := it.At()
				require.GreaterOrEqual(t, st, m.MinTime, "chunk bounds hold its samples")
				require.LessOrEqual(t, st, m.MaxTime, "chunk bounds hold its samples")
				if st >= mint && st <= maxt {
					ts = append(ts, st)
				}
			}
			require.NoError(t, it.Err())
		}
		require.NoError(t, ci.Err())
		chunked[cs.At().Labels().Get("instance")] = ts
	}
	require.NoError(t, cs.Err())
	return samples, chunked
}

// everyMinute returns the minutes in [from, to).
func everyMinute(from, to int64) []int64 {
	var out []int64
	for ts := from; ts < to; ts += 60_000 {
		out = append(out, ts)
	}
	return out
}

func TestTombstonesMaskHeadAndBlocks(t *testing.T) {
	h, _ := threeWindows(t)
	blocks := sealWindows(t, h, 0, 1)
	h.Truncate(window + window/2)
	ts, err := OpenTombstones(t.TempDir())
	require.NoError(t, err)
	q := NewWithBlocks(h, blocks, WithTombstones(ts))
	require.Equal(t, 2*window, q.boundary(), "windows 0 and 1 come from blocks, 2 from the head")

	// Delete instance a from the middle of window 0 to the middle of
	// window 2: across a block, a whole block and the head.
	del := interval{window / 2, 2*window + window/2}
	require.NoError(t, ts.Add(context.Background(), Tombstone{
		Tenant: AnonymousTenant, Mint: del.mint, Maxt: del.maxt,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "instance", "a")},
	}))
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	samples, chunked := readAll(t, q, 0, 3*window, up)
	wantA := append(everyMinute(0, del.mint), everyMinute(del.maxt+60_000-del.maxt%60_000, 3*window)...)
	require.Equal(t, map[string][]int64{"a": wantA, "b": everyMinute(0, 3*window)}, samples)
	require.Equal(t, samples, chunked, "remote read's chunks leave out the same samples")

	// A range wholly deleted: the series is not returned at all, as
	// /api/v1/series expects.
	samples, chunked = readAll(t, q, window, 2*window, up)
	require.Equal(t, []string{"b"}, keys(samples))
	require.Equal(t, []string{"b"}, keys(chunked))

	// A series deleted everywhere is gone from the series answers.
	require.NoError(t, ts.Add(context.Background(), Tombstone{
		Tenant: AnonymousTenant, Mint: math.MinInt64, Maxt: math.MaxInt64,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "old_only")},
	}))
	sq, err := q.Querier(0, 3*window)
	require.NoError(t, err)
	ss := sq.Select(context.Background(), true, &storage.SelectHints{Start: 0, End: 3 * window, Func: "series"},
		labels.MustNewMatcher(labels.MatchEqual, "__name__", "old_only"))
	require.False(t, ss.Next(), "deleted series is not listed")
	require.NoError(t, ss.Err())
}

func keys(m map[string][]int64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestTombstonesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	ts, err := OpenTombstones(dir)
	require.NoError(t, err)
	want := []Tombstone{{
		Tenant: AnonymousTenant, Mint: -5, Maxt: 10,
		Matchers: []*labels.Matcher{
			labels.MustNewMatcher(labels.MatchRegexp, "job", "no.*"),
			labels.MustNewMatcher(labels.MatchNotEqual, "instance", "b"),
		},
	}}
	require.NoError(t, ts.Add(context.Background(), want...))
	again, err := OpenTombstones(dir)
	require.NoError(t, err)
	require.Equal(t, len(want), len(again.List()))
	got := again.List()[0]
	require.Equal(t, want[0].Mint, got.Mint)
	require.Equal(t, want[0].Maxt, got.Maxt)
	require.Equal(t, want[0].Tenant, got.Tenant)
	for i, m := range want[0].Matchers {
		require.Equal(t, m.String(), got.Matchers[i].String())
	}
	_, err = os.Stat(filepath.Join(dir, TombstonesFile+".tmp"))
	require.ErrorIs(t, err, os.ErrNotExist, "the temporary file is renamed")
}

func TestTombstonesRefuseBadInput(t *testing.T) {
	ts, err := OpenTombstones("")
	require.NoError(t, err)
	ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "a", "b")}
	for name, bad := range map[string]Tombstone{
		"no tenant":   {Matchers: ms, Mint: 1, Maxt: 2},
		"no matchers": {Tenant: AnonymousTenant, Mint: 1, Maxt: 2},
		"reversed":    {Tenant: AnonymousTenant, Matchers: ms, Mint: 3, Maxt: 2},
	} {
		require.ErrorIs(t, ts.Add(context.Background(), bad), ErrBadTombstones, name)
	}
	require.Empty(t, ts.List(), "nothing added on error")

	for name, data := range map[string]string{
		"not json":     `{`,
		"version":      `{"version":2,"tombstones":[]}`,
		"match type":   `{"version":1,"tombstones":[{"tenant":"anonymous","matchers":[{"type":"~","name":"a","value":"b"}],"mint":0,"maxt":1}]}`,
		"bad regexp":   `{"version":1,"tombstones":[{"tenant":"anonymous","matchers":[{"type":"=~","name":"a","value":"("}],"mint":0,"maxt":1}]}`,
		"no matchers":  `{"version":1,"tombstones":[{"tenant":"anonymous","matchers":[],"mint":0,"maxt":1}]}`,
		"ends earlier": `{"version":1,"tombstones":[{"tenant":"anonymous","matchers":[{"type":"=","name":"a","value":"b"}],"mint":2,"maxt":1}]}`,
	} {
		_, err := DecodeTombstones([]byte(data))
		require.ErrorIs(t, err, ErrBadTombstones, name)
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, TombstonesFile), []byte("{"), 0o644))
	_, err = OpenTombstones(dir)
	require.True(t, errors.Is(err, ErrBadTombstones), "a damaged file stops the start: %v", err)
}

func FuzzTombstones(f *testing.F) {
	f.Add([]byte(EncodeTombstones([]Tombstone{{
		Tenant: AnonymousTenant, Mint: 1, Maxt: 2,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "a", "b|c")},
	}})))
	f.Add([]byte(`{"version":1,"tombstones":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := DecodeTombstones(data)
		if err != nil {
			if !errors.Is(err, ErrBadTombstones) {
				t.Fatalf("error %v does not wrap ErrBadTombstones", err)
			}
			return
		}
		again, err := DecodeTombstones(EncodeTombstones(list))
		if err != nil {
			t.Fatalf("re-decoding an encoded list: %v", err)
		}
		if len(again) != len(list) {
			t.Fatalf("round trip: got %d tombstones, want %d", len(again), len(list))
		}
	})
}

func TestMergeIntervals(t *testing.T) {
	got := mergeIntervals([]interval{{10, 20}, {math.MinInt64, 0}, {21, 30}, {40, 50}, {45, 46}, {1, 5}})
	want := []interval{{math.MinInt64, 5}, {10, 30}, {40, 50}}
	require.Equal(t, want, got)
}

// adminStack is a stack with the admin operations and tombstones of a
// server over the same directory.
func adminStack(t *testing.T, s *stack) (*Admin, *Tombstones) {
	t.Helper()
	ts, err := OpenTombstones(s.dir)
	require.NoError(t, err)
	s.q = NewWithBlocks(s.head, s.store, WithTombstones(ts))
	a, err := NewAdmin(AdminOptions{
		Head: s.head, Tombstones: ts, Dir: s.dir, Seal: s.shipper.Once,
		Now: func() time.Time { return time.UnixMilli(0) },
	})
	require.NoError(t, err)
	return a, ts
}

// fillWindows appends one sample a minute over three windows for the
// series of instances a and b.
func fillWindows(t *testing.T, h *head.Head) {
	t.Helper()
	app := h.Appender()
	for ts := int64(0); ts < 3*window; ts += 60_000 {
		for _, inst := range []string{"a", "b"} {
			_, err := app.Append(0, labels.FromStrings("__name__", "up", "instance", inst), ts, float64(ts))
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
}

func TestAdminDeleteSurvivesRestartAndCleanDropsHeadData(t *testing.T) {
	s := newStack(t)
	fillWindows(t, s.head)
	s.seal(t)
	require.NotZero(t, s.blockSamples(t), "closed windows are in the bucket")
	a, _ := adminStack(t, s)
	inst := func(v string) []*labels.Matcher {
		return []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "instance", v)}
	}
	// Everything of a before the cutoff: the store's retention by hand.
	cutoff := 2*window + 30*60_000
	require.NoError(t, a.DeleteSeries(context.Background(), [][]*labels.Matcher{inst("a")}, model.MinTime, cutoff))

	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	want := map[string][]int64{"a": everyMinute(cutoff+60_000, 3*window), "b": everyMinute(0, 3*window)}
	samples, chunked := readAll(t, s.q, 0, 3*window, up)
	require.Equal(t, want, samples)
	require.Equal(t, want, chunked)

	s.restart(t)
	adminStack(t, s)
	samples, chunked = readAll(t, s.q, 0, 3*window, up)
	require.Equal(t, want, samples, "the deletion survives a restart")
	require.Equal(t, want, chunked)

	// Clean drops the samples from memory: the head alone, without the
	// tombstones, no longer has them.
	a, _ = adminStack(t, s)
	before, err := s.head.Range(labels.FromStrings("__name__", "up", "instance", "a"), model.MinTime, cutoff)
	require.NoError(t, err)
	require.NotEmpty(t, before, "the head held the deleted samples until the clean")
	require.NoError(t, a.CleanTombstones(context.Background()))
	after, err := s.head.Range(labels.FromStrings("__name__", "up", "instance", "a"), model.MinTime, cutoff)
	require.NoError(t, err)
	require.Empty(t, after)
	samples, _ = readAll(t, s.q, 0, 3*window, up)
	require.Equal(t, want, samples, "and reads are unchanged")

	// The clean checkpointed the head: the WAL no longer replays them.
	s.restart(t)
	after, err = s.head.Range(labels.FromStrings("__name__", "up", "instance", "a"), model.MinTime, cutoff)
	require.NoError(t, err)
	require.Empty(t, after, "the WAL replays no deleted sample after a clean")
	adminStack(t, s)
	samples, _ = readAll(t, s.q, 0, 3*window, up)
	require.Equal(t, want, samples)
}

func TestAdminSnapshotRestores(t *testing.T) {
	s := newStack(t)
	fillWindows(t, s.head)
	a, _ := adminStack(t, s)
	require.NoError(t, a.DeleteSeries(context.Background(),
		[][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchEqual, "instance", "a")}}, 0, window))
	name, err := a.Snapshot(context.Background(), false)
	require.NoError(t, err)
	require.Regexp(t, `^19700101T000000Z-[0-9a-f]{16}$`, name)
	dir := filepath.Join(s.dir, "snapshots", name)

	// What the snapshot promises: the closed windows were sealed into the
	// bucket, a head opened on it holds the samples acknowledged before it
	// that are not there, and its tombstones the deletion.
	require.Equal(t, 2*2*120, s.blockSamples(t), "windows 0 and 1 of both series are in the bucket")
	ts, err := OpenTombstones(dir)
	require.NoError(t, err)
	require.Len(t, ts.List(), 1)
	h, err := head.Open(head.Options{Dir: dir, MaintenanceInterval: -1, Stripes: 16})
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	got, err := h.Range(labels.FromStrings("__name__", "up", "instance", "b"), 0, 3*window)
	require.NoError(t, err)
	var gotTs []int64
	for _, smp := range got {
		gotTs = append(gotTs, smp.T)
	}
	require.Equal(t, everyMinute(2*window, 3*window), gotTs, "the open window is in the snapshot's WAL")

	name2, err := a.Snapshot(context.Background(), true)
	require.NoError(t, err)
	require.NotEqual(t, name, name2)
	_, err = os.Stat(filepath.Join(s.dir, "snapshots", name2, TombstonesFile))
	require.NoError(t, err, "skip_head keeps the tombstones")
}
