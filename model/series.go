package model

import "github.com/prometheus/prometheus/model/labels"

// SeriesRef identifies a series inside one store. It is handed out by the
// store on first append and may be passed back to skip the label lookup. Zero
// means "unknown": the store looks the series up by its labels.
type SeriesRef uint64

// Exemplar is one exemplar attached to a series: its own labels (such as a
// trace ID), a value and a millisecond timestamp.
type Exemplar struct {
	Labels labels.Labels
	T      int64
	V      float64
}

// Chunk is one XOR chunk as stored (docs/format/chunk.md) with the time
// range of its samples, both ends inclusive.
type Chunk struct {
	MinT, MaxT int64
	Data       []byte
}

// HistogramChunk is one native histogram chunk as stored: the Prometheus
// histogram chunk encoding (integer counts), or with Float the float
// histogram one, with the time range of its samples, both ends inclusive.
type HistogramChunk struct {
	MinT, MaxT int64
	Float      bool
	Data       []byte
}

// ChunkSeries is a series with its chunks in time order: its float samples
// in Chunks, its native histograms, if any, in Histograms.
type ChunkSeries struct {
	Labels     labels.Labels
	Chunks     []Chunk
	Histograms []HistogramChunk
}

// SeriesExemplars are the exemplars kept for one series, oldest first.
type SeriesExemplars struct {
	Labels    labels.Labels
	Exemplars []Exemplar
}

// Metadata describes a metric family as its exporter declared it.
type Metadata struct {
	// Type is the metric type in lower case: counter, gauge, histogram,
	// gaugehistogram, summary, info, stateset or unknown.
	Type string
	Help string
	Unit string
}
