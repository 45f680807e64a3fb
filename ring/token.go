package ring

import (
	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// Token returns the ring token of a series: a hash of the tenant and the
// labels in sorted order (labels.Labels keeps them sorted), so the same
// series always lands on the same replicas whatever order a sender used.
//
// The value is part of the cluster protocol: every node of a cluster must
// compute the same token, so changing this function needs a migration.
// The hashed bytes are tenant, 0xff, then name, 0xfe, value, 0xff for
// each label; the separators are bytes that valid UTF-8 label names and
// values never contain, so ("a","bc") and ("ab","c") hash differently.
func Token(tenant string, lset labels.Labels) uint32 {
	// One pass of xxhash over the bytes gathered in a buffer gives the
	// streaming digest's value at a fraction of its cost per label; the
	// buffer stays on the stack for label sets up to its size.
	var stack [512]byte
	b := append(stack[:0], tenant...)
	b = append(b, 0xff)
	lset.Range(func(l labels.Label) {
		b = append(b, l.Name...)
		b = append(b, 0xfe)
		b = append(b, l.Value...)
		b = append(b, 0xff)
	})
	h := xxhash.Sum64(b)
	return uint32(h>>32) ^ uint32(h)
}
