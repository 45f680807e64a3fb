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
// The separators are bytes that valid UTF-8 label names and values never
// contain, so ("a","bc") and ("ab","c") hash differently.
func Token(tenant string, lset labels.Labels) uint32 {
	const sep = "\xff"
	d := xxhash.New()
	_, _ = d.WriteString(tenant)
	_, _ = d.WriteString(sep)
	lset.Range(func(l labels.Label) {
		_, _ = d.WriteString(l.Name)
		_, _ = d.WriteString("\xfe")
		_, _ = d.WriteString(l.Value)
		_, _ = d.WriteString(sep)
	})
	h := d.Sum64()
	return uint32(h>>32) ^ uint32(h)
}
