package promql

import "sync"

// maxPooledResult is the largest encoded answer whose buffer is kept for
// the next: a rare huge answer's memory goes back to the runtime.
const maxPooledResult = 8 << 20

// resultBuffers recycles the buffers query answers are encoded into. An
// answer of a range query over many series takes megabytes, grown by
// doubling; a recycled buffer has the room already, and the garbage the
// collector would otherwise scan for each answer is not made.
type resultBuffers struct{ p sync.Pool }

// get returns an empty buffer, with room when one was recycled.
func (r *resultBuffers) get() []byte {
	if b, ok := r.p.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

// put recycles b, which the caller no longer uses (its bytes were
// written), unless it is too large to keep.
func (r *resultBuffers) put(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledResult {
		return
	}
	b = b[:0]
	r.p.Put(&b)
}
