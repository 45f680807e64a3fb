package block

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// ErrClosed is returned by reads on a closed Block.
var ErrClosed = errors.New("block is closed")

// Block is an opened local block directory. The index and the chunk segments
// are mmapped by the Prometheus readers; everything a read returns is copied
// out of the mapping, so results outlive Close. A Block is safe for
// concurrent use; Close waits for reads in flight.
type Block struct {
	dir  string
	meta Meta
	size int64

	mu     sync.RWMutex // guards the fields below; reads hold it shared
	closed bool
	ir     *index.Reader
	cr     *chunks.Reader

	zstdOnce sync.Once // opens zstd on the first compressed dense chunk
	zstd     *zstdCodec
	zstdErr  error
}

// Open opens the block in dir.
func Open(dir string) (*Block, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	ir, err := index.NewFileReader(filepath.Join(dir, IndexFilename), index.DecodePostingsRaw)
	if err != nil {
		return nil, fmt.Errorf("open index of %s: %w", dir, err)
	}
	cr, err := chunks.NewDirReader(filepath.Join(dir, ChunksDirname), segmentPool{chunkenc.NewPool()})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open chunks of %s: %w", dir, err), ir.Close())
	}
	size, err := dirSize(dir)
	if err != nil {
		return nil, errors.Join(err, ir.Close(), cr.Close())
	}
	return &Block{dir: dir, meta: meta, size: size, ir: ir, cr: cr}, nil
}

// Meta returns the block's meta.json.
func (b *Block) Meta() Meta { return b.meta }

// Dir returns the block directory.
func (b *Block) Dir() string { return b.dir }

// Size returns the bytes the block takes on disk.
func (b *Block) Size() int64 { return b.size }

// Close unmaps the block. It waits for reads in flight; later reads fail
// with ErrClosed.
func (b *Block) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.zstd != nil {
		b.zstd.Close()
	}
	return errors.Join(b.ir.Close(), b.cr.Close())
}

// codec returns the block's zstd decoder, opening it on first use.
func (b *Block) codec() (*zstdCodec, error) {
	b.zstdOnce.Do(func() {
		dict, err := readDict(b.dir)
		if err != nil {
			b.zstdErr = err
			return
		}
		b.zstd, b.zstdErr = newZstdCodec(dict)
	})
	return b.zstd, b.zstdErr
}

// segmentPool is the Prometheus chunk pool plus the dense encoding, whose
// bytes it hands on as they are.
type segmentPool struct{ chunkenc.Pool }

func (p segmentPool) Get(e chunkenc.Encoding, b []byte) (chunkenc.Chunk, error) {
	if e == EncDense {
		if len(b) < denseHeaderSize {
			return nil, fmt.Errorf("dense chunk of %d bytes", len(b))
		}
		return segmentChunk{enc: EncDense, data: b}, nil
	}
	return p.Pool.Get(e, b)
}

func (p segmentPool) Put(c chunkenc.Chunk) error {
	if c.Encoding() == EncDense {
		return nil
	}
	return p.Pool.Put(c)
}

// ChunkError reports a chunk of a block that could not be read: its
// checksum does not match, or its reference points outside the segments.
type ChunkError struct {
	Block      string        // the block's ULID
	Series     labels.Labels // the series the chunk belongs to
	MinT, MaxT int64         // the chunk's time range, as the index lists it
	Err        error
}

func (e *ChunkError) Error() string {
	return fmt.Sprintf("read chunk [%d, %d] of series %s in block %s: %v", e.MinT, e.MaxT, e.Series, e.Block, e.Err)
}

func (e *ChunkError) Unwrap() error { return e.Err }

// Select returns the series matching all matchers, with Prometheus semantics
// (a matcher that matches the empty string also selects series without the
// label), and their chunks overlapping [mint, maxt], sorted by labels. Series
// without such chunks are left out. Labels and chunk bytes are copies. A
// chunk that cannot be read fails the call with a *ChunkError.
func (b *Block) Select(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]model.ChunkSeries, error) {
	return b.sel(ctx, mint, maxt, nil, ms)
}

// SelectPartial is Select, except that chunks that cannot be read are left
// out and returned as the *ChunkError list bad, so that one damaged chunk
// does not hide every other series of the block. err reports what fails
// the whole read (the index, a closed block, ctx).
func (b *Block) SelectPartial(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) (series []model.ChunkSeries, bad []*ChunkError, err error) {
	series, err = b.sel(ctx, mint, maxt, &bad, ms)
	return series, bad, err
}

// sel is Select; with bad set, unreadable chunks are appended there
// instead of failing the call.
func (b *Block) sel(ctx context.Context, mint, maxt int64, bad *[]*ChunkError, ms []*labels.Matcher) ([]model.ChunkSeries, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	if !b.meta.Overlaps(mint, maxt) {
		return nil, nil
	}
	p, err := postingsFor(ctx, b.ir, ms...)
	if err != nil {
		return nil, err
	}
	var (
		out   []model.ChunkSeries
		sb    labels.ScratchBuilder
		metas []chunks.Meta
	)
	for n := 0; p.Next(); n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := b.ir.Series(p.At(), &sb, &metas); err != nil {
			return nil, fmt.Errorf("read series %d of %s: %w", p.At(), b.meta.ULID, err)
		}
		cs, hs, cerr := b.chunksIn(metas, mint, maxt, sb.Labels(), bad)
		if cerr != nil {
			return nil, cerr
		}
		if len(cs) == 0 && len(hs) == 0 {
			continue
		}
		out = append(out, model.ChunkSeries{Labels: cloneLabels(sb.Labels()), Chunks: cs, Histograms: hs})
	}
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("postings of %s: %w", b.meta.ULID, err)
	}
	return out, nil
}

// chunksIn copies out the chunks of metas overlapping [mint, maxt]: float
// chunks as XOR whatever the block's encoding, native histogram chunks
// apart, as stored. A chunk that cannot be read is a *ChunkError: returned,
// or appended to bad when bad is set.
func (b *Block) chunksIn(metas []chunks.Meta, mint, maxt int64, lset labels.Labels, bad *[]*ChunkError) ([]model.Chunk, []model.HistogramChunk, error) {
	var (
		out   []model.Chunk
		hists []model.HistogramChunk
	)
	for _, m := range metas {
		if !m.OverlapsClosedInterval(mint, maxt) {
			continue
		}
		var data []byte
		c, _, err := b.cr.ChunkOrIterable(m)
		if err == nil && isHistEncoding(c.Encoding()) {
			hists = append(hists, model.HistogramChunk{
				MinT: m.MinTime, MaxT: m.MaxTime, Float: c.Encoding() == chunkenc.EncFloatHistogram,
				Data: append([]byte(nil), c.Bytes()...),
			})
			continue
		}
		if err == nil {
			data, err = toXOR(c, b.codec)
		}
		if err != nil {
			ce := &ChunkError{Block: b.meta.ULID.String(), Series: cloneLabels(lset), MinT: m.MinTime, MaxT: m.MaxTime, Err: err}
			if bad == nil {
				return nil, nil, ce
			}
			*bad = append(*bad, ce)
			continue
		}
		out = append(out, model.Chunk{MinT: m.MinTime, MaxT: m.MaxTime, Data: data})
	}
	return out, hists, nil
}

// LabelNames returns the sorted label names of the series matching ms (all
// series when ms is empty).
func (b *Block) LabelNames(ctx context.Context, ms ...*labels.Matcher) ([]string, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	var names []string
	var err error
	if len(ms) == 0 {
		names, err = b.ir.LabelNames(ctx)
	} else {
		var p index.Postings
		if p, err = postingsFor(ctx, b.ir, ms...); err == nil {
			names, err = b.ir.LabelNamesFor(ctx, p)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("label names of %s: %w", b.meta.ULID, err)
	}
	return cloneStrings(names), nil
}

// LabelValues returns the sorted values of label name over the series
// matching ms (all series when ms is empty).
func (b *Block) LabelValues(ctx context.Context, name string, ms ...*labels.Matcher) ([]string, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	if len(ms) == 0 {
		vals, err := b.ir.SortedLabelValues(ctx, name, nil)
		if err != nil {
			return nil, fmt.Errorf("label values of %s in %s: %w", name, b.meta.ULID, err)
		}
		return cloneStrings(vals), nil
	}
	p, err := postingsFor(ctx, b.ir, ms...)
	if err != nil {
		return nil, err
	}
	// Read the label from each selected series: the selection is what the
	// matchers narrowed down, usually far fewer than the label's postings.
	set := map[string]struct{}{}
	var sb labels.ScratchBuilder
	var metas []chunks.Meta
	for p.Next() {
		if err := b.ir.Series(p.At(), &sb, &metas); err != nil {
			return nil, fmt.Errorf("read series %d of %s: %w", p.At(), b.meta.ULID, err)
		}
		if v := sb.Labels().Get(name); v != "" {
			if _, ok := set[v]; !ok {
				set[strings.Clone(v)] = struct{}{}
			}
		}
	}
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("postings of %s: %w", b.meta.ULID, err)
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// postingsFor returns the sorted references of the series matching all ms.
// A matcher that matches the empty string also matches series without the
// label, so it contributes the series to remove (those whose value it
// rejects) rather than the series to keep.
func postingsFor(ctx context.Context, ir *index.Reader, ms ...*labels.Matcher) (index.Postings, error) {
	var keep, drop []index.Postings
	for _, m := range ms {
		if m.Matches("") {
			reject := func(v string) bool { return !m.Matches(v) }
			drop = append(drop, ir.PostingsForLabelMatching(ctx, m.Name, reject))
			continue
		}
		p, err := matching(ctx, ir, m)
		if err != nil {
			return nil, err
		}
		if index.IsEmptyPostingsType(p) {
			return index.EmptyPostings(), nil
		}
		keep = append(keep, p)
	}
	if len(keep) == 0 {
		n, v := index.AllPostingsKey()
		p, err := ir.Postings(ctx, n, v)
		if err != nil {
			return nil, fmt.Errorf("all postings: %w", err)
		}
		keep = append(keep, p)
	}
	p := index.Intersect(keep...)
	if len(drop) > 0 {
		p = index.Without(p, index.Merge(ctx, drop...))
	}
	return p, nil
}

// matching returns the postings of the series whose label m.Name has a value
// m accepts; m must not match the empty string.
func matching(ctx context.Context, ir *index.Reader, m *labels.Matcher) (index.Postings, error) {
	var vals []string
	switch {
	case m.Type == labels.MatchEqual:
		vals = []string{m.Value}
	case m.Type == labels.MatchRegexp:
		vals = m.SetMatches()
	}
	if len(vals) == 0 {
		return ir.PostingsForLabelMatching(ctx, m.Name, m.Matches), nil
	}
	p, err := ir.Postings(ctx, m.Name, vals...)
	if err != nil {
		return nil, fmt.Errorf("postings of %s: %w", m, err)
	}
	return p, nil
}

// cloneLabels copies labels that may point into an mmapped index.
func cloneLabels(ls labels.Labels) labels.Labels {
	b := labels.NewScratchBuilder(ls.Len())
	ls.Range(func(l labels.Label) { b.Add(strings.Clone(l.Name), strings.Clone(l.Value)) })
	return b.Labels()
}

// cloneStrings copies strings that may point into an mmapped index.
func cloneStrings(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}
