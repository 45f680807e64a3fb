package block

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	pchunkenc "github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// tmpSuffix marks a block directory still being written or downloaded.
const tmpSuffix = ".tmp"

// WriteOptions tune Write. The zero value writes a raw block with a new ULID
// and no external labels.
type WriteOptions struct {
	ULID       ulid.ULID         // zero: a new one whose time part is MinTime
	Resolution int64             // downsampling resolution in ms; 0 = raw
	Labels     map[string]string // Thanos external labels
	// Sources, when set, are the blocks this one was merged from: meta.json
	// then records compaction level 2 with these sources. nil: level 1,
	// the block its own source.
	Sources []ulid.ULID
	// Encoding is how the chunks are stored; "" is EncodingXOR. Write
	// always takes XOR chunks and re-encodes them; meta.json records a
	// non-XOR encoding in its "gorilla" section.
	Encoding ChunkEncoding
}

// Write writes the block for [mint, maxt) into parent/<ULID>/ and returns its
// meta. It writes into parent/<ULID>.tmp, fsyncs every file and directory and
// renames, so parent/<ULID> is either absent or complete.
//
// series must be sorted by labels without duplicates, the chunks of a series
// in time order without overlap, every chunk inside [mint, maxt); otherwise
// Write fails before touching the disk. Chunks are written byte for byte as
// given when opts.Encoding is XOR, re-encoded otherwise (losslessly, every
// float64 bit kept). Series without chunks are skipped. A cancelled ctx
// stops the write and leaves nothing behind.
func Write(ctx context.Context, parent string, mint, maxt int64, series []model.ChunkSeries, opts WriteOptions) (Meta, error) {
	if maxt <= mint {
		return Meta{}, fmt.Errorf("write block: empty range [%d, %d)", mint, maxt)
	}
	stats, err := checkSeries(mint, maxt, series)
	if err != nil {
		return Meta{}, fmt.Errorf("write block [%d, %d): %w", mint, maxt, err)
	}
	id := opts.ULID
	if id == (ulid.ULID{}) {
		// A ULID holds 48 bits of milliseconds (until the year 10889);
		// windows outside them take the nearest time it holds. The ULID
		// only names the block: its range is in meta.json.
		if id, err = ulid.New(uint64(min(max(mint, 0), int64(ulid.MaxTime()))), rand.Reader); err != nil {
			return Meta{}, fmt.Errorf("write block: new ULID: %w", err)
		}
	}
	final := filepath.Join(parent, id.String())
	tmp := final + tmpSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return Meta{}, fmt.Errorf("write block %s: %w", id, err)
	}
	if err := os.MkdirAll(tmp, 0o777); err != nil {
		return Meta{}, fmt.Errorf("write block %s: %w", id, err)
	}
	meta, err := writeDir(ctx, tmp, id, mint, maxt, series, stats, opts)
	if err == nil {
		err = commitDir(tmp, final)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return Meta{}, fmt.Errorf("write block %s: %w", id, err)
	}
	return meta, nil
}

// checkSeries validates the input of Write and counts it.
func checkSeries(mint, maxt int64, series []model.ChunkSeries) (Stats, error) {
	var st Stats
	var prev labels.Labels
	for i, s := range series {
		if len(s.Chunks) == 0 && len(s.Histograms) == 0 {
			continue
		}
		if s.Labels.IsEmpty() {
			return st, fmt.Errorf("series %d has no labels", i)
		}
		if st.NumSeries > 0 && labels.Compare(prev, s.Labels) >= 0 {
			return st, fmt.Errorf("series %s after %s: not sorted by labels", s.Labels, prev)
		}
		prev = s.Labels
		last := int64(0)
		for j, c := range s.Chunks {
			switch {
			case c.MinT < mint || c.MaxT >= maxt:
				return st, fmt.Errorf("series %s: chunk %d [%d, %d] outside the block", s.Labels, j, c.MinT, c.MaxT)
			case c.MaxT < c.MinT:
				return st, fmt.Errorf("series %s: chunk %d ends at %d before it starts at %d", s.Labels, j, c.MaxT, c.MinT)
			case j > 0 && c.MinT <= last:
				return st, fmt.Errorf("series %s: chunk %d starts at %d, not after the previous chunk's end %d", s.Labels, j, c.MinT, last)
			case len(c.Data) < 2:
				return st, fmt.Errorf("series %s: chunk %d has %d bytes: %w", s.Labels, j, len(c.Data), chunkenc.ErrCorrupt)
			}
			last = c.MaxT
			st.NumSamples += uint64(binary.BigEndian.Uint16(c.Data))
			st.NumChunks++
		}
		if err := checkHistChunks(s, mint, maxt, &st); err != nil {
			return st, err
		}
		st.NumSeries++
	}
	st.NumFloatSamples = st.NumSamples - st.NumHistogramSamples
	return st, nil
}

// writeDir writes chunks, index and meta.json into dir.
func writeDir(ctx context.Context, dir string, id ulid.ULID, mint, maxt int64, series []model.ChunkSeries, st Stats, opts WriteOptions) (Meta, error) {
	nchunks, err := writeData(ctx, dir, series, opts.Encoding)
	if err != nil {
		return Meta{}, err
	}
	st.NumChunks = nchunks
	files, segs, err := listFiles(dir)
	if err != nil {
		return Meta{}, err
	}
	lbls := maps.Clone(opts.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	comp := Compaction{Level: 1, Sources: []ulid.ULID{id}}
	if opts.Sources != nil {
		comp = Compaction{Level: 2, Sources: slices.Clone(opts.Sources)}
	}
	meta := Meta{
		ULID:       id,
		MinTime:    mint,
		MaxTime:    maxt,
		Stats:      st,
		Compaction: comp,
		Version:    MetaVersion,
		Thanos: ThanosMeta{
			Version:      ThanosVersion,
			Labels:       lbls,
			Downsample:   ThanosDownsample{Resolution: opts.Resolution},
			Source:       ThanosSource,
			SegmentFiles: segs,
			Files:        append(files, File{RelPath: MetaFilename}),
		},
	}
	if opts.Encoding != "" && opts.Encoding != EncodingXOR {
		meta.Gorilla = &GorillaMeta{ChunkEncoding: opts.Encoding}
	}
	if err := writeMetaFile(dir, meta); err != nil {
		return Meta{}, err
	}
	return meta, nil
}

// writeData writes the chunk segments and the index, and returns the
// number of chunks written (xor2 cuts chunks shorter than the input's).
func writeData(ctx context.Context, dir string, series []model.ChunkSeries, enc ChunkEncoding) (n uint64, err error) {
	se, err := newSegmentEncoder(enc, series)
	if err != nil {
		return 0, err
	}
	defer se.Close()
	if se.dict != nil {
		if err := writeFileSync(filepath.Join(dir, DictFilename), se.dict); err != nil {
			return 0, fmt.Errorf("write dense dictionary: %w", err)
		}
	}
	cw, err := chunks.NewWriter(filepath.Join(dir, ChunksDirname))
	if err != nil {
		return 0, fmt.Errorf("create chunks writer: %w", err)
	}
	defer func() {
		if cerr := cw.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close chunks writer: %w", cerr)
		}
	}()
	iw, err := index.NewWriter(ctx, filepath.Join(dir, IndexFilename))
	if err != nil {
		return 0, fmt.Errorf("create index writer: %w", err)
	}
	defer func() {
		if cerr := iw.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close index writer: %w", cerr)
		}
	}()
	for _, sym := range symbols(series) {
		if err := iw.AddSymbol(sym); err != nil {
			return 0, fmt.Errorf("add symbol: %w", err)
		}
	}
	var metas []chunks.Meta
	ref := storage.SeriesRef(0)
	for i, s := range series {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if len(s.Chunks) == 0 && len(s.Histograms) == 0 {
			continue
		}
		metas = metas[:0]
		for _, c := range s.Chunks {
			if metas, err = se.encode(metas, c); err != nil {
				return 0, fmt.Errorf("encode chunk [%d, %d] of %s: %w", c.MinT, c.MaxT, s.Labels, err)
			}
		}
		if metas, err = appendHistMetas(metas, s); err != nil {
			return 0, fmt.Errorf("series %s: %w", s.Labels, err)
		}
		n += uint64(len(metas))
		if err := cw.WriteChunks(metas...); err != nil {
			return 0, fmt.Errorf("write chunks of %s: %w", s.Labels, err)
		}
		ref++
		if err := iw.AddSeries(ref, s.Labels, metas...); err != nil {
			return 0, fmt.Errorf("add series %s: %w", s.Labels, err)
		}
	}
	return n, nil
}

// symbols returns every label name and value of the non-empty series,
// sorted and unique, as the index writer wants them.
func symbols(series []model.ChunkSeries) []string {
	set := map[string]struct{}{}
	for _, s := range series {
		if len(s.Chunks) == 0 && len(s.Histograms) == 0 {
			continue
		}
		s.Labels.Range(func(l labels.Label) {
			set[l.Name] = struct{}{}
			set[l.Value] = struct{}{}
		})
	}
	syms := make([]string, 0, len(set))
	for s := range set {
		syms = append(syms, s)
	}
	slices.Sort(syms)
	return syms
}

// listFiles returns the data files of a block directory with their sizes,
// index last, and the chunk segment names.
func listFiles(dir string) ([]File, []string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, ChunksDirname))
	if err != nil {
		return nil, nil, fmt.Errorf("list chunks: %w", err)
	}
	var files []File
	var segs []string
	for _, e := range ents {
		rel := filepath.ToSlash(filepath.Join(ChunksDirname, e.Name()))
		fi, err := e.Info()
		if err != nil {
			return nil, nil, fmt.Errorf("stat %s: %w", rel, err)
		}
		files = append(files, File{RelPath: rel, SizeBytes: fi.Size()})
		segs = append(segs, e.Name())
	}
	fi, err := os.Stat(filepath.Join(dir, IndexFilename))
	if err != nil {
		return nil, nil, fmt.Errorf("stat index: %w", err)
	}
	files = append(files, File{RelPath: IndexFilename, SizeBytes: fi.Size()})
	if fi, err := os.Stat(filepath.Join(dir, DictFilename)); err == nil {
		files = append(files, File{RelPath: DictFilename, SizeBytes: fi.Size()})
	}
	return files, segs, nil
}

// commitDir fsyncs every file and directory under tmp, renames tmp to final
// (replacing an older final) and fsyncs the parent.
func commitDir(tmp, final string) error {
	err := filepath.WalkDir(tmp, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return syncPath(p)
	})
	if err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncPath(filepath.Dir(final))
}

// syncPath fsyncs a file or directory.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	serr := f.Sync()
	return errors.Join(serr, f.Close())
}

// storedChunk presents stored XOR bytes as the chunk the Prometheus chunks
// writer takes. The formats are identical (docs/format/chunk.md), so the
// bytes go to disk unchanged.
type storedChunk []byte

var _ pchunkenc.Chunk = storedChunk(nil)

func (c storedChunk) Bytes() []byte              { return c }
func (storedChunk) Encoding() pchunkenc.Encoding { return pchunkenc.EncXOR }
func (c storedChunk) NumSamples() int            { return int(binary.BigEndian.Uint16(c)) }
func (storedChunk) Compact()                     {}
func (storedChunk) Reset([]byte)                 { panic("BUG: Reset on a stored chunk") }
func (storedChunk) Appender() (pchunkenc.Appender, error) {
	return nil, errors.New("stored chunk is read-only")
}

func (c storedChunk) Iterator(pchunkenc.Iterator) pchunkenc.Iterator {
	return &storedIter{it: chunkenc.NewIterator(c)}
}

// storedIter adapts our iterator to the Prometheus interface.
type storedIter struct{ it *chunkenc.Iterator }

func (i *storedIter) Next() pchunkenc.ValueType        { return valType(i.it.Next()) }
func (i *storedIter) Seek(t int64) pchunkenc.ValueType { return valType(i.it.Seek(t)) }
func (i *storedIter) At() (int64, float64)             { return i.it.At() }
func (i *storedIter) AtT() int64                       { t, _ := i.it.At(); return t }
func (*storedIter) AtST() int64                        { return 0 }
func (i *storedIter) Err() error                       { return i.it.Err() }
func (*storedIter) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("BUG: AtHistogram on an XOR chunk")
}
func (*storedIter) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("BUG: AtFloatHistogram on an XOR chunk")
}

func valType(ok bool) pchunkenc.ValueType {
	if ok {
		return pchunkenc.ValFloat
	}
	return pchunkenc.ValNone
}
