package chunkenc

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundTripShapes(t *testing.T) {
	for name, ss := range shapes() {
		t.Run(name, func(t *testing.T) {
			c := encode(t, ss)
			require.Equal(t, len(ss), c.NumSamples())
			got, err := decode(c.Bytes())
			require.NoError(t, err)
			requireSamples(t, ss, got)

			// Iterator reuse gives the same result.
			it := c.Iterator(NewIterator([]byte{0, 0}))
			for i := 0; it.Next(); i++ {
				gt, gv := it.At()
				require.Equal(t, ss[i].t, gt)
				require.Equal(t, ss[i].bits(), math.Float64bits(gv))
			}
			require.NoError(t, it.Err())
		})
	}
}

func TestEmptyChunk(t *testing.T) {
	c := NewXORChunk()
	require.Equal(t, []byte{0, 0}, c.Bytes())
	require.Equal(t, 0, c.NumSamples())
	it := c.Iterator(nil)
	require.False(t, it.Next())
	require.False(t, it.Seek(math.MinInt64))
	require.NoError(t, it.Err())
	mint, maxt, err := c.MinMaxTime()
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), mint)
	require.Equal(t, int64(math.MinInt64), maxt)
}

func TestFullChunk(t *testing.T) {
	c := NewXORChunk()
	app, err := c.Appender()
	require.NoError(t, err)
	for i := range MaxSamples {
		require.NoError(t, app.Append(int64(i)*15000, float64(i%100)))
	}
	require.Equal(t, MaxSamples, c.NumSamples())
	before := append([]byte(nil), c.Bytes()...)
	err = app.Append(math.MaxInt64, 1)
	require.ErrorIs(t, err, ErrChunkFull)
	require.Equal(t, before, c.Bytes(), "a refused append must not change the chunk")

	// A resumed appender refuses too.
	app, err = c.Appender()
	require.NoError(t, err)
	require.ErrorIs(t, app.Append(math.MaxInt64, 1), ErrChunkFull)

	n := 0
	it := c.Iterator(nil)
	for it.Next() {
		ts, v := it.At()
		if ts != int64(n)*15000 || v != float64(n%100) {
			t.Fatalf("sample %d: got (%d, %v)", n, ts, v)
		}
		n++
	}
	require.NoError(t, it.Err())
	require.Equal(t, MaxSamples, n)
	require.Equal(t, before, promEncode(t, decodeAll(t, before)))
}

func decodeAll(t *testing.T, b []byte) []sample {
	t.Helper()
	ss, err := decode(b)
	require.NoError(t, err)
	return ss
}

// TestResumeAppender checks that cutting the appends at any point and
// resuming with a fresh Appender, on the same chunk or on a copy of its
// bytes, writes exactly the bytes of an uninterrupted encoder.
func TestResumeAppender(t *testing.T) {
	for name, ss := range shapes() {
		t.Run(name, func(t *testing.T) {
			want := encode(t, ss).Bytes()
			for cut := 0; cut <= len(ss); cut++ {
				c := encode(t, ss[:cut])
				app, err := c.Appender()
				require.NoError(t, err)
				for _, s := range ss[cut:] {
					require.NoError(t, app.Append(s.t, s.v))
				}
				require.Equal(t, want, c.Bytes(), "resumed at %d on the same chunk", cut)

				orig := append([]byte(nil), encode(t, ss[:cut]).Bytes()...)
				keep := append([]byte(nil), orig...)
				fc, err := FromBytes(orig)
				require.NoError(t, err)
				app, err = fc.Appender()
				require.NoError(t, err)
				for _, s := range ss[cut:] {
					require.NoError(t, app.Append(s.t, s.v))
				}
				require.Equal(t, want, fc.Bytes(), "resumed at %d from bytes", cut)
				require.Equal(t, keep, orig, "FromBytes input must not be written")
			}
		})
	}
}

// TestResumeAfterRepeatedValues covers a chunk whose values never changed:
// no XOR window has been opened yet, so the resumed appender must open one.
func TestResumeAfterRepeatedValues(t *testing.T) {
	ss := []sample{{0, 5}, {10, 5}, {20, 5}, {30, 6}, {40, 7}}
	want := encode(t, ss).Bytes()
	c := encode(t, ss[:3])
	app, err := c.Appender()
	require.NoError(t, err)
	for _, s := range ss[3:] {
		require.NoError(t, app.Append(s.t, s.v))
	}
	require.Equal(t, want, c.Bytes())
}

func TestResumeDropsTrailingBytes(t *testing.T) {
	ss := shapes()["gauge"][:10]
	want := encode(t, ss).Bytes()
	b := append(append([]byte(nil), encode(t, ss[:5]).Bytes()...), 0xff, 0xff)
	c, err := FromBytes(b)
	require.NoError(t, err)
	app, err := c.Appender()
	require.NoError(t, err)
	for _, s := range ss[5:] {
		require.NoError(t, app.Append(s.t, s.v))
	}
	require.Equal(t, want, c.Bytes())
}

func TestCompact(t *testing.T) {
	ss := shapes()["gauge"]
	c := encode(t, ss)
	want := append([]byte(nil), c.Bytes()...)
	c.Compact()
	require.Equal(t, len(c.Bytes()), cap(c.Bytes()))
	require.Equal(t, want, c.Bytes())
	// Appending after Compact still works.
	app, err := c.Appender()
	require.NoError(t, err)
	require.NoError(t, app.Append(ss[len(ss)-1].t+15000, 1))
	got := decodeAll(t, c.Bytes())
	requireSamples(t, append(append([]sample(nil), ss...), sample{ss[len(ss)-1].t + 15000, 1}), got)
}

func TestMinMaxTime(t *testing.T) {
	c := encode(t, []sample{{100, 1}, {50, 2}, {300, 3}, {200, 4}})
	mint, maxt, err := c.MinMaxTime()
	require.NoError(t, err)
	require.Equal(t, int64(50), mint)
	require.Equal(t, int64(300), maxt)
}

func TestCorrupt(t *testing.T) {
	_, err := FromBytes([]byte{1})
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = FromBytes(nil)
	require.ErrorIs(t, err, ErrCorrupt)

	it := NewIterator([]byte{7})
	require.False(t, it.Next())
	require.ErrorIs(t, it.Err(), ErrCorrupt)

	full := encode(t, shapes()["gauge"]).Bytes()
	// Every truncation of a valid chunk is reported, never silently short.
	for n := headerSize; n < len(full); n++ {
		b := full[:n]
		got, err := decode(b)
		if err == nil {
			t.Fatalf("truncated to %d bytes: %d samples and no error", n, len(got))
		}
		require.True(t, errors.Is(err, ErrCorrupt), "error %v", err)
		require.Less(t, len(got), 500)

		c, err := FromBytes(b)
		require.NoError(t, err)
		_, err = c.Appender()
		require.ErrorIs(t, err, ErrCorrupt)
		_, _, err = c.MinMaxTime()
		require.ErrorIs(t, err, ErrCorrupt)
	}

	// A value window wider than 64 bits: '11', 31 leading zeros, 63 bits.
	bad := NewXORChunk()
	app, err := bad.Appender()
	require.NoError(t, err)
	require.NoError(t, app.Append(0, 1))
	require.NoError(t, app.Append(1, 1))
	bad.writeBits(0, 1)                  // dod 0
	bad.writeBits(0b11<<11|31<<6|63, 13) // impossible window
	bad.writeBits(0, 64)
	bad.b[1] = 3
	_, err = decode(bad.Bytes())
	require.ErrorIs(t, err, ErrCorrupt)
}

// TestNoAllocations pins the hot paths: Append allocates only to grow the
// buffer and a reused Iterator never allocates.
func TestNoAllocations(t *testing.T) {
	c := NewXORChunk()
	c.b = make([]byte, headerSize, 1<<20)
	app, err := c.Appender()
	require.NoError(t, err)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		_ = app.Append(int64(i)*15000+int64(i%5), float64(i)*0.25)
		i++
	})
	require.Zero(t, allocs, "Append")

	var it Iterator
	allocs = testing.AllocsPerRun(100, func() {
		c.Iterator(&it)
		for it.Next() {
		}
	})
	require.Zero(t, allocs, "Iterator")
}

// TestInitEmpty checks that a chunk started in place with a small buffer
// grows as samples come and encodes exactly what a new chunk does.
func TestInitEmpty(t *testing.T) {
	var c XORChunk
	c.InitEmpty(1) // below the header: raised to it
	want := NewXORChunk()
	ca, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	wa, err := want.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		ts, v := int64(1_700_000_000_000+i*15_000+i%7), float64(i*i)/3
		if err := ca.Append(ts, v); err != nil {
			t.Fatal(err)
		}
		if err := wa.Append(ts, v); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(c.Bytes(), want.Bytes()) {
		t.Fatalf("InitEmpty chunk differs from NewXORChunk's: %x vs %x", c.Bytes(), want.Bytes())
	}
	if got := c.NumSamples(); got != 300 {
		t.Fatalf("NumSamples = %d, want 300", got)
	}
}
