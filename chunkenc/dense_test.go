package chunkenc

import (
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// columns returns the timestamps and values of ss.
func columns(ss []sample) ([]int64, []float64) {
	ts := make([]int64, len(ss))
	vs := make([]float64, len(ss))
	for i, s := range ss {
		ts[i], vs[i] = s.t, s.v
	}
	return ts, vs
}

// denseRoundTrip encodes ss densely, decodes it and fails unless every
// timestamp and every value's bits come back.
func denseRoundTrip(t *testing.T, ss []sample) []byte {
	t.Helper()
	ts, vs := columns(ss)
	b := AppendDense(nil, ts, vs)
	gotT, gotV, err := DecodeDense(b, nil, nil)
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	if len(gotT) != len(ss) || len(gotV) != len(ss) {
		t.Fatalf("decoded %d timestamps and %d values, want %d", len(gotT), len(gotV), len(ss))
	}
	for i, s := range ss {
		if gotT[i] != s.t || math.Float64bits(gotV[i]) != s.bits() {
			t.Fatalf("sample %d: got (%d, %#016x), want (%d, %#016x)", i, gotT[i], math.Float64bits(gotV[i]), s.t, s.bits())
		}
	}
	return b
}

// denseCases extends the XOR golden cases with shapes that exercise each
// value mode of the dense encoding.
func denseCases() map[string][]sample {
	cases := goldenCases()
	decimals := make([]sample, 0, 240)
	counter := make([]sample, 0, 240)
	for i := range 240 {
		decimals = append(decimals, sample{int64(i) * 15000, float64(i%7) * 0.1})
		counter = append(counter, sample{int64(i) * 15000, float64(i*i) / 100})
	}
	decimals[17].v = staleNaN
	decimals[90].v = math.Copysign(0, -1)
	cases["decimal-exceptions"] = decimals
	cases["decimal-counter"] = counter
	return cases
}

func TestDenseRoundTrip(t *testing.T) {
	for name, ss := range shapes() {
		t.Run("shape-"+name, func(t *testing.T) { denseRoundTrip(t, ss) })
	}
	for name, ss := range denseCases() {
		t.Run(name, func(t *testing.T) { denseRoundTrip(t, ss) })
	}
	t.Run("empty", func(t *testing.T) { denseRoundTrip(t, nil) })
	t.Run("max-samples", func(t *testing.T) {
		ss := make([]sample, MaxSamples)
		for i := range ss {
			ss[i] = sample{int64(i) * 1000, math.Float64frombits(uint64(i) * 0x9e3779b97f4a7c15)}
		}
		denseRoundTrip(t, ss)
	})
}

// TestDenseModes checks that each shape takes the value mode it is meant
// for (the first byte after the timestamps names it).
func TestDenseModes(t *testing.T) {
	f := func(name string, vs []float64, wantMode byte, wantScale int) {
		t.Helper()
		ts := make([]int64, len(vs))
		for i := range ts {
			ts[i] = int64(i) * 15000
		}
		b := AppendDense(nil, ts, vs)
		// count, layout, t0, delta, trailing zero run: one byte each but delta.
		off := 1 + 1 + 1 + 3 + 1
		if len(vs) <= 2 {
			t.Fatalf("%s: need more than two values", name)
		}
		if got := b[off]; got != wantMode {
			t.Fatalf("%s: value mode %d, want %d (%x)", name, got, wantMode, b)
		}
		if wantMode != denseValuesXOR && int(b[off+1]) != wantScale {
			t.Fatalf("%s: scale %d, want %d", name, b[off+1], wantScale)
		}
	}
	f("integers", []float64{1, 5, 9, 200}, denseValuesDelta, 0)
	f("cents", []float64{0.01, 0.5, 0.02, 1.25}, denseValuesDelta, 2)
	f("steady-counter", []float64{100.5, 200.5, 300.5, 400.5, 500.5}, denseValuesDoD, 1)
	f("irrational", []float64{math.Pi, math.E, math.Sqrt2, math.Ln2}, denseValuesXOR, 0)
	f("specials", []float64{math.NaN(), math.Inf(1), math.Inf(-1), staleNaN}, denseValuesXOR, 0)
}

// TestDenseGolden pins the exact dense bytes of the golden cases.
// Regenerate with go test ./chunkenc/ -run TestDenseGolden -update (only
// after checking that the format change is intended).
func TestDenseGolden(t *testing.T) {
	for name, ss := range denseCases() {
		t.Run(name, func(t *testing.T) {
			got := denseRoundTrip(t, ss)
			path := filepath.Join("testdata", "dense-"+name+".hex")
			if *update {
				if err := os.WriteFile(path, []byte(formatHex(got)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("encoded bytes differ from %s:\ngot  %x\nwant %x", path, got, want)
			}
		})
	}
}

// TestDenseDocExample pins the worked example of docs/format/dense.md.
func TestDenseDocExample(t *testing.T) {
	ts := []int64{1_700_000_000_000, 1_700_000_015_000, 1_700_000_030_000, 1_700_000_046_000}
	vs := []float64{0.5, 0.75, 1, staleNaN}
	got := hex.EncodeToString(AppendDense(nil, ts, vs))
	const want = "040080a0abfef962b0ea0101d00f00010201037ff0000000000002643232"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestDenseCorrupt(t *testing.T) {
	good := AppendDense(nil, []int64{0, 10, 20, 35}, []float64{1, 2, 3, 4})
	f := func(name string, b []byte) {
		t.Helper()
		if _, _, err := DecodeDense(b, nil, nil); err == nil {
			t.Fatalf("%s: %x decoded without error", name, b)
		}
	}
	f("truncated", good[:len(good)-1])
	f("trailing", append(append([]byte(nil), good...), 0))
	f("too-many-samples", []byte{0xff, 0xff, 0x03})
	f("bad-mode", []byte{1, 0, 9})
	f("bad-scale", []byte{1, 0, denseValuesDelta, DenseMaxScale + 1, 0, 2})
	f("bad-exception", []byte{2, 0, 0, denseValuesDelta, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f("long-run", []byte{3, 0, 0, 5})
	f("xor-overflow", []byte{1, 0, denseValuesXOR, 63, 2})
}

// FuzzDense checks both directions: arbitrary samples round-trip bit for
// bit, and arbitrary bytes decode without panicking into either an error
// or samples that re-encode to a decodable chunk holding the same samples.
func FuzzDense(f *testing.F) {
	for _, ss := range denseCases() {
		ts, vs := columns(ss)
		f.Add(AppendDense(nil, ts, vs))
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The bytes read as samples, (t, v bits) pairs, round-trip.
		var ss []sample
		for rest := b; len(rest) >= 16 && len(ss) < MaxSamples; rest = rest[16:] {
			ss = append(ss, sample{int64(leUint64(rest)), math.Float64frombits(leUint64(rest[8:]))})
		}
		denseRoundTrip(t, ss)
		// The bytes read as a dense chunk decode or fail cleanly.
		ts, vs, err := DecodeDense(b, nil, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again := AppendDense(nil, ts, vs)
		ts2, vs2, err := DecodeDense(again, nil, nil)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", again, err)
		}
		for i := range ts {
			if ts2[i] != ts[i] || math.Float64bits(vs2[i]) != math.Float64bits(vs[i]) {
				t.Fatalf("sample %d changed through re-encoding", i)
			}
		}
	})
}

func leUint64(b []byte) uint64 {
	var x uint64
	for i := 7; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}

// TestDenseTimeLayouts: exact steps take the runs layout, jittered scrape
// timestamps the grid layout; both round-trip.
func TestDenseTimeLayouts(t *testing.T) {
	f := func(name string, jitter func(i int) int64, want byte) {
		t.Helper()
		var ss []sample
		for i := range 200 {
			ss = append(ss, sample{1_700_000_000_000 + int64(i)*1000 + jitter(i), 1})
		}
		b := denseRoundTrip(t, ss)
		if got := b[2]; got != want {
			t.Fatalf("%s: layout %d, want %d", name, got, want)
		}
	}
	f("exact", func(int) int64 { return 0 }, denseTimesRuns)
	rng := rand.New(rand.NewPCG(1, 2))
	f("jitter", func(int) int64 { return rng.Int64N(7) - 3 }, denseTimesGrid)
	f("one-gap", func(i int) int64 { return int64(i/100) * 500 }, denseTimesRuns)
}
