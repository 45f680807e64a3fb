package head

import (
	"sort"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// chunkCache remembers the decoded samples of the chunks that duplicate
// checks looked into during one batch. Finding the value stored at t in a
// Gorilla chunk means decoding it from its start; a batch of many
// out-of-order samples or retries in one chunk would pay that once per
// sample, quadratic in the batch. With the cache the first look into a
// chunk seeks as before (no allocation, the common case of one stray
// sample), the second decodes the chunk once, and every later one is a
// binary search.
//
// Entries are keyed by chunk: the samples a chunk holds never change while
// it is part of its series (appends add newer samples to the open chunk
// only; a merge replaces chunks by new ones), so an entry stays valid for
// every timestamp up to the newest sample it decoded. The zero value is
// ready to use. A cache is not safe for concurrent use; lookups hold the
// series lock of the chunk they read.
type chunkCache struct {
	chunks map[*memChunk][]model.Sample // nil value: looked into once, not decoded
	held   int                          // samples held in chunks
	// scans counts the chunks decoded from their start, by a seek or into
	// the cache: the work of the lookups, each O(chunk); tests read it.
	scans int
}

// maxCachedSamples bounds the samples a cache holds (16 bytes each); past
// it the cache starts afresh. A chunk holds at most chunkenc.MaxSamples, so
// the newest chunk always fits.
const maxCachedSamples = 1 << 20

// find returns the value stored at t in c, which must cover t
// (c.mint <= t <= c.maxt). The caller holds the lock of c's series.
func (cc *chunkCache) find(c *memChunk, t int64) (float64, bool) {
	ss, seen := cc.chunks[c]
	if !seen {
		if cc.chunks == nil {
			cc.chunks = map[*memChunk][]model.Sample{}
		}
		cc.chunks[c] = nil
		cc.scans++
		return seekChunk(c, t)
	}
	if len(ss) == 0 || (ss[len(ss)-1].T < t && c.chunk.NumSamples() > len(ss)) {
		ss = cc.decode(c)
	}
	i := sort.Search(len(ss), func(i int) bool { return ss[i].T >= t })
	if i < len(ss) && ss[i].T == t {
		return ss[i].V, true
	}
	return 0, false
}

// decode decodes c into the cache and returns its samples.
func (cc *chunkCache) decode(c *memChunk) []model.Sample {
	n := c.chunk.NumSamples()
	if cc.held+n > maxCachedSamples {
		clear(cc.chunks)
		cc.held = 0
	}
	ss := decodeChunks([]*memChunk{c})
	cc.held += len(ss) - len(cc.chunks[c])
	cc.scans++
	cc.chunks[c] = ss
	return ss
}

// reset empties the cache, keeping its map.
func (cc *chunkCache) reset() {
	clear(cc.chunks)
	cc.held = 0
}

// seekChunk returns the value stored at t in c by decoding c up to t.
func seekChunk(c *memChunk, t int64) (float64, bool) {
	var it chunkenc.Iterator
	it.Reset(c.chunk.Bytes())
	if it.Seek(t) {
		if ct, cv := it.At(); ct == t {
			return cv, true
		}
	}
	return 0, false
}
