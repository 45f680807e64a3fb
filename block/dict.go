package block

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// DictFilename is the zstd dictionary of a dense block, beside its index
// (docs/format/dense.md). It is part of the format. Dense chunks with the
// flag denseZstdDict need it; a dense block without it has none of them.
const DictFilename = "dense.dict"

// Dictionary sizing: a sample of the block's own dense chunks becomes the
// dictionary's history. 16 KiB measured best on the shared capture (0.51
// B/sample of chunks against 0.91 without a dictionary; 64 KiB saves less
// than it costs on a 2h block of 2,200 series).
const (
	dictHistoryBytes = 16 << 10
	dictSampleChunks = 400 // chunks the dictionary's statistics come from
	dictID           = 1
)

// buildDenseDict returns a zstd dictionary trained on the dense layout of
// an evenly spaced sample of the chunks of series, or nil when there is too
// little data or the dictionary would not pay for its own bytes.
func buildDenseDict(series []model.ChunkSeries) ([]byte, error) {
	var all []model.Chunk
	for _, s := range series {
		all = append(all, s.Chunks...)
	}
	if len(all) < 64 {
		return nil, nil
	}
	stride := max(1, len(all)/dictSampleChunks)
	e := &segmentEncoder{}
	var contents [][]byte
	for i := 0; i < len(all); i += stride {
		if err := e.samples(all[i].Data); err != nil {
			return nil, fmt.Errorf("dense dictionary: %w", err)
		}
		p := chunkenc.AppendDense(nil, e.ts, e.vs)
		contents = append(contents, p)
	}
	// The history is a spread of whole chunks, not the first ones only:
	// every step-th, then the ones after those, until it is full.
	var history []byte
	step := max(1, len(contents)/(dictHistoryBytes/256))
	for off := 0; off < step && len(history) < dictHistoryBytes; off++ {
		for k := off; k < len(contents) && len(history) < dictHistoryBytes; k += step {
			history = append(history, contents[k]...)
		}
	}
	history = history[:min(len(history), dictHistoryBytes)]
	if len(history) < 64 {
		return nil, nil
	}
	dict, err := zstd.BuildDict(zstd.BuildDictOptions{ID: dictID, Contents: contents, History: history, Offsets: [3]int{1, 4, 8}, Level: zstdLevel})
	if err != nil {
		// Training can refuse unusual inputs; the block is then written
		// without a dictionary, which is always valid.
		return nil, nil
	}
	with, without, err := dictGain(dict, contents)
	if err != nil {
		return nil, err
	}
	// Keep the dictionary only when the sampled chunks, scaled to the
	// whole block, save more than the dictionary file costs.
	if (without-with)*stride <= len(dict) {
		return nil, nil
	}
	return dict, nil
}

// dictGain returns the compressed size of contents with and without dict.
func dictGain(dict []byte, contents [][]byte) (with, without int, err error) {
	plain, err := newZstdCodec(nil)
	if err != nil {
		return 0, 0, err
	}
	defer plain.Close()
	withDict, err := newZstdCodec(dict)
	if err != nil {
		// A dictionary zstd refuses is not used: no gain.
		return 0, 0, nil
	}
	defer withDict.Close()
	var buf []byte
	for _, c := range contents {
		buf = plain.compress(buf[:0], c)
		without += min(len(buf), len(c))
		buf = withDict.compress(buf[:0], c)
		with += min(len(buf), len(c))
	}
	return with, without, nil
}

// readDict reads the dictionary of the block in dir; nil when it has none.
func readDict(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, DictFilename))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read dense dictionary: %w", err)
	}
	return b, nil
}
