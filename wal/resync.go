package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// resyncChain is how many frame headers, counting the candidate's own, must
// follow one another from a resynchronisation candidate before its checksum
// is computed: each must have a non-zero length that fits in the segment,
// unless the chain reaches the end of the segment first. In garbage a
// plausible header is rare (a random length fits a 128 MiB segment about
// once in thirty), so a chain of them almost never happens by chance, and
// the costly checksums of long candidates are almost never computed.
const resyncChain = 3

// damagedRange is a run of bytes in a segment that holds no readable
// record: it starts at a bad frame and ends at the next intact frame found
// by resynchronisation, or at the end of the segment.
type damagedRange struct {
	off, end int   // byte range [off, end) in the segment
	reason   error // what was wrong with the frame at off
}

// checkFrame validates the frame at off in seg, the whole contents of a
// segment, by the rules the Reader applies, and returns the offset just
// past it.
func checkFrame(seg []byte, off int) (int, error) {
	rest := len(seg) - off
	if rest < headerSize {
		return 0, fmt.Errorf("torn frame: %d of %d header bytes", rest, headerSize)
	}
	n, codec := splitWord(binary.LittleEndian.Uint32(seg[off:]))
	length := int64(n)
	if length == 0 {
		return 0, errors.New("zero-length record")
	}
	if left := int64(rest - headerSize); length > left {
		return 0, fmt.Errorf("record length %d exceeds the %d bytes left in the segment", length, left)
	}
	end := off + headerSize + int(length)
	sum := binary.LittleEndian.Uint32(seg[off+4:])
	if got := frameCRC(codec, seg[off+headerSize:end]); got != sum {
		return 0, fmt.Errorf("checksum mismatch: stored %08x, computed %08x over %d bytes", sum, got, length)
	}
	return end, nil
}

// headerFits reports whether a whole header at off in seg gives a non-zero
// length that fits in seg, and returns the end of that frame. It reads 8
// bytes and must stay small enough to inline.
func headerFits(seg []byte, off int) (int, bool) {
	if len(seg)-off < headerSize {
		return 0, false
	}
	length, _ := splitWord(binary.LittleEndian.Uint32(seg[off:]))
	if length == 0 || length > len(seg)-off-headerSize {
		return 0, false
	}
	return off + headerSize + length, true
}

// chainFits reports whether, from the candidate frame at off, resyncChain
// headers in a row fit, or the chain reaches the end of seg (or a torn
// header at its very end) first.
func chainFits(seg []byte, off int) bool {
	for range resyncChain {
		if len(seg)-off < headerSize {
			return true
		}
		end, ok := headerFits(seg, off)
		if !ok {
			return false
		}
		off = end
	}
	return true
}

// resync returns the offset of the first intact frame at or after from
// whose header chain fits (see resyncChain), or len(seg) if there is none.
// An intact frame whose following header was itself damaged is skipped,
// so two damaged headers within resyncChain frames of each other can cost
// the intact records between them.
func resync(seg []byte, from int) int {
	for p := from; p+headerSize < len(seg); p++ {
		if _, ok := headerFits(seg, p); !ok || !chainFits(seg, p) {
			continue
		}
		if _, err := checkFrame(seg, p); err == nil {
			return p
		}
	}
	return len(seg)
}

// scanSegment walks seg, the whole contents of a segment, calling frame for
// every intact frame in order, and returns the damaged ranges between them.
// Frames and damaged ranges together cover seg exactly, so the intact
// records of seg are seg with the damaged ranges cut out. The first frame
// scanSegment rejects is the one the Reader stops at.
func scanSegment(seg []byte, frame func(off, end int)) []damagedRange {
	var bad []damagedRange
	for off := 0; off < len(seg); {
		end, err := checkFrame(seg, off)
		if err == nil {
			if frame != nil {
				frame(off, end)
			}
			off = end
			continue
		}
		next := resync(seg, off+1)
		bad = append(bad, damagedRange{off: off, end: next, reason: err})
		off = next
	}
	return bad
}
