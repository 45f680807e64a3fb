package block

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/oklog/ulid/v2"
)

// File names inside a block directory. They are part of the Prometheus block
// format and must not change.
const (
	MetaFilename  = "meta.json"
	IndexFilename = "index"
	ChunksDirname = "chunks"

	// MetaVersion is the meta.json version Prometheus writes for index v2.
	MetaVersion = 1
	// ThanosVersion is the version of the Thanos section.
	ThanosVersion = 1
	// ThanosSource is what our blocks declare as their Thanos source.
	ThanosSource = "gorilla-remote"
)

// ErrNoMeta is returned by ReadMeta when the directory holds no meta.json:
// the block is incomplete.
var ErrNoMeta = errors.New("block has no meta.json")

// Meta is meta.json: the fields Prometheus reads and the section Thanos reads,
// so both tool sets accept our blocks.
type Meta struct {
	ULID       ulid.ULID  `json:"ulid"`
	MinTime    int64      `json:"minTime"` // inclusive, ms
	MaxTime    int64      `json:"maxTime"` // exclusive, ms (Prometheus convention)
	Stats      Stats      `json:"stats"`
	Compaction Compaction `json:"compaction"`
	Version    int        `json:"version"`
	Thanos     ThanosMeta `json:"thanos"`
	// Gorilla is present when the block stores its chunks in another
	// encoding than XOR; Prometheus and Thanos ignore it.
	Gorilla *GorillaMeta `json:"gorilla,omitempty"`
}

// GorillaMeta is the "gorilla" section of meta.json.
type GorillaMeta struct {
	// ChunkEncoding is how the chunks are stored: xor2 or dense.
	ChunkEncoding ChunkEncoding `json:"chunk_encoding"`
}

// ChunkEncoding returns how the block stores its chunks.
func (m Meta) ChunkEncoding() ChunkEncoding {
	if m.Gorilla == nil || m.Gorilla.ChunkEncoding == "" {
		return EncodingXOR
	}
	return m.Gorilla.ChunkEncoding
}

// Stats counts what the block holds.
type Stats struct {
	NumSamples      uint64 `json:"numSamples,omitempty"`
	NumFloatSamples uint64 `json:"numFloatSamples,omitempty"`
	// NumHistogramSamples counts the native histogram samples, which
	// NumSamples includes.
	NumHistogramSamples uint64 `json:"numHistogramSamples,omitempty"`
	NumSeries           uint64 `json:"numSeries,omitempty"`
	NumChunks           uint64 `json:"numChunks,omitempty"`
}

// Compaction records how the block came to be. Blocks written from the head
// have level 1 and are their own single source.
type Compaction struct {
	Level   int         `json:"level"`
	Sources []ulid.ULID `json:"sources,omitempty"`
}

// ThanosMeta is the "thanos" section of meta.json.
type ThanosMeta struct {
	Version    int               `json:"version,omitempty"`
	Labels     map[string]string `json:"labels"`
	Downsample ThanosDownsample  `json:"downsample"`
	Source     string            `json:"source"`
	// SegmentFiles are the chunk segment names relative to chunks/.
	SegmentFiles []string `json:"segment_files,omitempty"`
	// Files lists every file of the block with its size; meta.json itself
	// is listed without one.
	Files []File `json:"files,omitempty"`
}

// ThanosDownsample holds the resolution of the samples in ms; 0 means raw.
type ThanosDownsample struct {
	Resolution int64 `json:"resolution"`
}

// File is one file of a block, its path relative to the block directory.
type File struct {
	RelPath   string `json:"rel_path"`
	SizeBytes int64  `json:"size_bytes,omitempty"`
}

// Overlaps reports whether the block holds samples in the closed interval
// [mint, maxt].
func (m Meta) Overlaps(mint, maxt int64) bool {
	return m.MinTime <= maxt && mint < m.MaxTime
}

// DataBytes is the sum of the file sizes listed in the Thanos section: what
// downloading the block costs.
func (m Meta) DataBytes() int64 {
	var n int64
	for _, f := range m.Thanos.Files {
		n += f.SizeBytes
	}
	return n
}

// ReadMeta reads dir/meta.json. A missing file yields an error wrapping
// ErrNoMeta.
func ReadMeta(dir string) (Meta, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFilename))
	if errors.Is(err, os.ErrNotExist) {
		return Meta{}, fmt.Errorf("read meta of %s: %w", dir, ErrNoMeta)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("read meta: %w", err)
	}
	return parseMeta(b)
}

// parseMeta decodes and checks meta.json bytes.
func parseMeta(b []byte) (Meta, error) {
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fmt.Errorf("decode meta.json: %w", err)
	}
	if m.Version != MetaVersion {
		return Meta{}, fmt.Errorf("meta.json of %s: version %d, want %d", m.ULID, m.Version, MetaVersion)
	}
	if _, err := ParseChunkEncoding(string(m.ChunkEncoding())); err != nil {
		return Meta{}, fmt.Errorf("meta.json of %s: %w", m.ULID, err)
	}
	if m.MaxTime < m.MinTime {
		return Meta{}, fmt.Errorf("meta.json of %s: maxTime %d before minTime %d", m.ULID, m.MaxTime, m.MinTime)
	}
	return m, nil
}

// writeMetaFile writes meta.json into dir and fsyncs it.
func writeMetaFile(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return fmt.Errorf("encode meta.json: %w", err)
	}
	return writeFileSync(filepath.Join(dir, MetaFilename), append(b, '\n'))
}

// writeFileSync writes b to a new file name and fsyncs it before closing.
func writeFileSync(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	return f.Close()
}
