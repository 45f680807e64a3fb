package head

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// pairsOf returns the labels of lset as a slice.
func pairsOf(lset labels.Labels) []labels.Label {
	var ls []labels.Label
	lset.Range(func(l labels.Label) { ls = append(ls, l) })
	return ls
}

// TestHashPairs pins that hashPairs gives model.Hash's value, at every
// size-prefix boundary of the label layout.
func TestHashPairs(t *testing.T) {
	var buf []byte
	for _, n := range []int{0, 1, 127, 128, 254, 255, 256, 70_000} {
		v := strings.Repeat("v", n)
		for _, lset := range []labels.Labels{
			labels.FromStrings("__name__", "up"),
			labels.FromStrings("__name__", "up", "a", v),
			labels.FromStrings(strings.Repeat("n", n+1), v, "z", "1"),
		} {
			got, ok := hashPairs(&buf, pairsOf(lset))
			require.True(t, ok)
			require.Equal(t, model.Hash(lset), got, "labels %s", lset)
		}
	}
}

// TestLookupPairs finds existing series by their pairs, misses the others,
// and appends through the ref it returns.
func TestLookupPairs(t *testing.T) {
	h := openTest(t, nil)
	a := labels.FromStrings("__name__", "up", "job", "a")
	b := labels.FromStrings("__name__", "up", "job", "b")
	require.NoError(t, h.Append(a, 1000, 1))

	app := h.Appender()
	require.Zero(t, app.LookupPairs(pairsOf(b)), "no such series yet")
	require.Zero(t, app.LookupPairs(nil))
	require.Zero(t, app.LookupPairs(pairsOf(labels.FromStrings("__name__", "up"))), "a prefix of a's labels")
	require.Zero(t, app.LookupPairs(pairsOf(labels.FromStrings("__name__", "up", "job", "a", "x", "y"))), "a's labels and more")
	ref := app.LookupPairs(pairsOf(a))
	require.NotZero(t, ref)
	// The ref alone appends to a: lset is ignored.
	got, err := app.Append(ref, labels.EmptyLabels(), 2000, 2)
	require.NoError(t, err)
	require.Equal(t, ref, got)
	_, err = app.Append(0, b, 2000, 3)
	require.NoError(t, err)
	require.NoError(t, app.Commit())

	samples, err := h.Range(a, 0, 3000)
	require.NoError(t, err)
	require.Equal(t, []model.Sample{{T: 1000, V: 1}, {T: 2000, V: 2}}, samples)
	app = h.Appender()
	require.NotZero(t, app.LookupPairs(pairsOf(b)), "created by the last commit")
	require.NoError(t, app.Rollback())
}

// TestLookupPairsMissThenCreate appends after LookupPairs missed: the
// series is created once and counted once, also when another appender
// created it between the miss and the Append.
func TestLookupPairsMissThenCreate(t *testing.T) {
	lim := &countingLimiter{max: 10}
	h := openTest(t, func(o *Options) { o.Limiter = lim })
	a, b := h.Appender(), h.Appender()
	lset := series("raced")
	require.Zero(t, a.LookupPairs(pairsOf(lset)))
	refB, err := b.Append(0, lset, 1000, 1)
	require.NoError(t, err)
	require.NoError(t, b.Commit())
	refA, err := a.Append(0, lset, 2000, 2)
	require.NoError(t, err)
	require.Equal(t, refB, refA, "the series b created, not a second one")

	other := series("fresh")
	require.Zero(t, a.LookupPairs(pairsOf(other)))
	refO, err := a.Append(0, other, 1000, 3)
	require.NoError(t, err)
	require.NoError(t, a.Commit())
	require.Equal(t, refO, h.Appender().LookupPairs(pairsOf(other)))

	require.Equal(t, 2, h.Stats().Series)
	require.Equal(t, 2, lim.count())
	requireSamples(t, []model.Sample{{T: 1000, V: 1}, {T: 2000, V: 2}}, mustRange(t, h, lset))
	requireSamples(t, []model.Sample{{T: 1000, V: 3}}, mustRange(t, h, other))
}
