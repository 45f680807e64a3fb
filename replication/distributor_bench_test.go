package replication_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/replication"
)

// BenchmarkDistributor measures one write of distSeries samples (one per
// series, as a sender's round) through the distributor of a real
// three-node ring with RF=3: the local head append, two pushes over HTTP
// to the other nodes' real internal push handlers, the quorum wait. Four
// writers run at once, as bench/cluster's senders do, each with its own
// series. It reports the allocations and CPU time per replicated sample.
func BenchmarkDistributor(b *testing.B) {
	ms := startCluster(b, 3)
	for _, c := range []struct {
		name   string
		client *http.Client
	}{
		{"default-client", nil},
		{"pooled-client", replication.NewPeerClient()},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, err := replication.NewDistributor(replication.DistributorOptions{
				Ring: ms[0].node, ReplicationFactor: 3, Timeout: testWait, Client: c.client,
				Local: func(string) (replication.Appender, error) { return ms[0].head.Appender(), nil },
			})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			benchWrites(b, d, c.name)
		})
	}
}

const distSeries = 2000

func benchWrites(b *testing.B, d *replication.Distributor, name string) {
	var writers atomic.Int64
	b.SetParallelism(2) // 4 writers on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := writers.Add(1)
		lsets := make([]labels.Labels, distSeries)
		for i := range lsets {
			lsets[i] = labels.FromStrings("__name__", "bench_"+name, "instance", fmt.Sprintf("host-%d:9100", i%100),
				"job", "node", "series", fmt.Sprint(i), "writer", fmt.Sprint(w))
		}
		ts := int64(0)
		for pb.Next() {
			ts += 15000
			app := d.Appender()
			for i, lset := range lsets {
				if _, err := app.Append(0, lset, ts, float64(i)); err != nil {
					b.Error(err)
					return
				}
			}
			if err := app.Commit(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	d.Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*distSeries), "ns/sample")
}
