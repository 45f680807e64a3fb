package head_test

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/head"
)

// Example shows the store embedded in a program: open, append, read back,
// inspect, release old data, checkpoint and close.
func Example() {
	dir, _ := os.MkdirTemp("", "gorilla-example")
	defer os.RemoveAll(dir)

	h, err := head.Open(head.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	cpu := labels.FromStrings("__name__", "cpu_seconds_total", "host", "a")

	// A batch: one WAL write for all of it.
	app := h.Appender()
	var ref uint64
	for i := range 4 {
		r, err := app.Append(0, cpu, int64(i)*15_000, float64(i)*2.5)
		if err != nil {
			panic(err)
		}
		ref = uint64(r)
	}
	if err := app.Commit(); err != nil { // durable from here on
		panic(err)
	}
	fmt.Println("ref assigned:", ref > 0)

	samples, _ := h.Range(cpu, 15_000, 45_000)
	fmt.Println("range:", samples)

	latest, _ := h.Latest(cpu)
	fmt.Println("latest:", latest.T, latest.V)

	info, _ := h.Info(cpu)
	fmt.Println("samples:", info.Samples, "chunks:", info.Chunks)

	series, _ := h.Select(context.Background(), 0, 60_000,
		labels.MustNewMatcher(labels.MatchRegexp, "__name__", "cpu_.*"))
	fmt.Println("selected:", len(series), series[0].Labels)

	st := h.Stats()
	fmt.Println("stats:", st.Series, "series,", st.Samples, "samples")

	// Chunks are released whole: this one still holds samples newer than
	// 30s, so it stays.
	h.Truncate(30_000)
	samples, _ = h.Range(cpu, 0, 60_000)
	fmt.Println("after truncate:", len(samples), "samples")

	if err := h.Checkpoint(context.Background()); err != nil {
		panic(err)
	}
	if err := h.Close(); err != nil {
		panic(err)
	}
	// Output:
	// ref assigned: true
	// range: [{15000 2.5} {30000 5} {45000 7.5}]
	// latest: 45000 7.5
	// samples: 4 chunks: 1
	// selected: 1 {__name__="cpu_seconds_total", host="a"}
	// stats: 1 series, 4 samples
	// after truncate: 4 samples
}
