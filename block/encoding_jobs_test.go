package block

import (
	"context"
	"testing"

	"github.com/oklog/ulid/v2"
)

// TestRollupsEncoding rolls up with the dense encoding: every roll-up block
// is marked dense and holds what Downsample makes of its raw window.
func TestRollupsEncoding(t *testing.T) {
	ctx := context.Background()
	env := newRollupEnv(t)
	r, err := NewRollups(RollupOptions{Bucket: env.bkt, Store: env.store, Dir: t.TempDir(), Encoding: EncodingDense})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Once(ctx); err != nil {
		t.Fatalf("Once: %v", err)
	}
	rolled := 0
	for _, m := range env.store.AllMetas() {
		res := m.Thanos.Downsample.Resolution
		if res == 0 {
			if got := m.ChunkEncoding(); got != EncodingXOR {
				t.Fatalf("raw block %s: encoding %q, want xor", m.ULID, got)
			}
			continue
		}
		rolled++
		if got := m.ChunkEncoding(); got != EncodingDense {
			t.Fatalf("roll-up %s: encoding %q, want dense", m.ULID, got)
		}
		want, err := Downsample(env.raw[(m.MinTime-testMint)/testWindow], res)
		if err != nil {
			t.Fatal(err)
		}
		b, release, err := env.store.Open(ctx, m.ULID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Select(ctx, m.MinTime, m.MaxTime)
		release()
		if err != nil {
			t.Fatal(err)
		}
		requireSameSamples(t, want, got)
	}
	if rolled != 6 {
		t.Fatalf("%d roll-up blocks, want 6", rolled)
	}
}

// TestMergedEncoding: the merged block takes the configured encoding, else
// that of the newest replica block.
func TestMergedEncoding(t *testing.T) {
	older := Meta{ULID: ulid.MustParse("01HF84E4000000000000000001")}
	newer := Meta{ULID: ulid.MustParse("01HF84E4000000000000000002"), Gorilla: &GorillaMeta{ChunkEncoding: EncodingDense}}
	f := func(configured ChunkEncoding, g []Meta, want ChunkEncoding) {
		t.Helper()
		c := &Compactor{opts: CompactOptions{Encoding: configured}}
		if got := c.mergedEncoding(g); got != want {
			t.Fatalf("configured %q: merged encoding %q, want %q", configured, got, want)
		}
	}
	f("", []Meta{older, newer}, EncodingDense)
	f("", []Meta{newer, older}, EncodingDense)
	f("", []Meta{older}, EncodingXOR)
	f(EncodingXOR2, []Meta{older, newer}, EncodingXOR2)
}
