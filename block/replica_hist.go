package block

import (
	"encoding/binary"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// mostHistograms returns the native histogram chunks of the replica of a
// series that holds the most histograms, the first such on a tie. Replicas
// are written the same histograms, so their chunks agree but for what a
// replica missed; the fullest one is kept as stored. Merging them sample by
// sample, as floats are, is not done yet.
func mostHistograms(reps []model.ChunkSeries) []model.HistogramChunk {
	var best []model.HistogramChunk
	bestN := -1
	for _, r := range reps {
		n := 0
		for _, c := range r.Histograms {
			if len(c.Data) >= 2 {
				n += int(binary.BigEndian.Uint16(c.Data))
			}
		}
		if len(r.Histograms) > 0 && n > bestN {
			best, bestN = r.Histograms, n
		}
	}
	return best
}

// withChunks returns the replicas that hold float chunks.
func withChunks(reps []model.ChunkSeries) []model.ChunkSeries {
	var out []model.ChunkSeries
	for _, r := range reps {
		if len(r.Chunks) > 0 {
			out = append(out, r)
		}
	}
	return out
}
