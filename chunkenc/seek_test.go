package chunkenc

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeek(t *testing.T) {
	b := encode(t, []sample{{10, 1}, {20, 2}, {30, 3}, {40, 4}}).Bytes()
	type step struct {
		seek  int64
		ok    bool
		wantT int64
	}
	cases := map[string][]step{
		"before first":       {{5, true, 10}},
		"min int":            {{math.MinInt64, true, 10}},
		"exact":              {{20, true, 20}},
		"between":            {{25, true, 30}},
		"last":               {{40, true, 40}},
		"past end":           {{41, false, 0}},
		"forward only":       {{30, true, 30}, {10, true, 30}, {30, true, 30}, {31, true, 40}},
		"exhausted":          {{50, false, 0}, {10, false, 0}},
		"ascending sequence": {{11, true, 20}, {20, true, 20}, {21, true, 30}, {40, true, 40}, {40, true, 40}},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			it := NewIterator(b)
			for i, s := range steps {
				require.Equal(t, s.ok, it.Seek(s.seek), "step %d: Seek(%d)", i, s.seek)
				if s.ok {
					gotT, _ := it.At()
					require.Equal(t, s.wantT, gotT, "step %d", i)
				}
			}
			require.NoError(t, it.Err())
		})
	}

	t.Run("after next", func(t *testing.T) {
		it := NewIterator(b)
		require.True(t, it.Next())
		require.True(t, it.Next())
		require.True(t, it.Seek(15), "the current sample at 20 already satisfies 15")
		gotT, gotV := it.At()
		require.Equal(t, int64(20), gotT)
		require.Equal(t, 2.0, gotV)
		require.True(t, it.Next())
		gotT, _ = it.At()
		require.Equal(t, int64(30), gotT)
	})

	t.Run("next after exhausted seek", func(t *testing.T) {
		it := NewIterator(b)
		require.False(t, it.Seek(100))
		require.False(t, it.Next())
	})

	t.Run("corrupt", func(t *testing.T) {
		it := NewIterator(b[:6])
		require.False(t, it.Seek(0))
		require.ErrorIs(t, it.Err(), ErrCorrupt)
	})
}
