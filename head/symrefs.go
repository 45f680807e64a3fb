package head

// symRefs is a series' labels as symbol ids, name0, value0, name1, value1,
// ..., each a uvarint (7 bits a byte, low bits first), in a string: its
// bytes never change and hold no pointers for the collector to follow.
//
// Label names and the values many series share are interned first and get
// small ids, so most ids take one or two bytes: ten labels take about 24
// bytes where 32-bit ids took 80, and a series' labels are its largest
// allocation but one.
type symRefs string

// maxSymRefLen is the longest encoding of one id (a uint32 in 7-bit groups).
const maxSymRefLen = 5

// appendSymRef appends id to b in the encoding of symRefs.
func appendSymRef(b []byte, id uint32) []byte {
	for id >= 0x80 {
		b = append(b, byte(id)|0x80)
		id >>= 7
	}
	return append(b, byte(id))
}

// at decodes the id that starts at byte i and returns it with the index of
// the next one. i must be the start of an id before the end of r. The one-
// byte case stays small enough to inline.
func (r symRefs) at(i int) (id uint32, next int) {
	if c := r[i]; c < 0x80 {
		return uint32(c), i + 1
	}
	return r.atLong(i)
}

// atLong is at for ids of more than one byte.
func (r symRefs) atLong(i int) (uint32, int) {
	var id uint32
	for shift := uint(0); ; shift += 7 {
		c := r[i]
		i++
		id |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return id, i
		}
	}
}

// each calls f for every id, in order.
func (r symRefs) each(f func(id uint32)) {
	for i := 0; i < len(r); {
		var id uint32
		id, i = r.at(i)
		f(id)
	}
}

// count returns the number of ids in r: each id ends with its one byte
// below 0x80.
func (r symRefs) count() int {
	n := 0
	for i := 0; i < len(r); i++ {
		if r[i] < 0x80 {
			n++
		}
	}
	return n
}
