package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/bench/loadgen"
)

// checkWorkers is how many spot-check queries run at once.
const checkWorkers = 4

// maxExamples is how many wrong answers the report quotes.
const maxExamples = 3

// selector is the PromQL selector matching exactly the series ls.
func selector(ls labels.Labels) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	})
	b.WriteByte('}')
	return b.String()
}

// spot is one (series, round) to read back.
type spot struct{ series, round int }

// checkData reads the loaded data back from srv: the number of series at the
// last round, and n random samples, each fetched by its exact selector with
// a 1ms range ending at its timestamp, compared bit for bit with the load.
func checkData(ctx context.Context, c *apiClient, srv *server, w *loadgen.Workload, n int, seed uint64) *checkResult {
	r := &checkResult{SeriesWant: w.Series()}
	last := w.Rounds() - 1
	tLast, _ := w.Sample(0, last)
	res, err := c.instant(ctx, srv, `count({__name__=~".+"})`, tLast)
	switch {
	case err != nil:
		r.Error = "count series: " + err.Error()
	case len(res) == 1 && res[0].Value != nil:
		r.SeriesGot = int(res[0].Value.V)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	spots := make(chan spot)
	go func() {
		defer close(spots)
		for range n {
			select {
			case spots <- spot{rng.IntN(w.Series()), rng.IntN(w.Rounds())}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range checkWorkers {
		wg.Go(func() {
			for sp := range spots {
				bad, rounded := checkSpot(ctx, c, srv, w, sp)
				mu.Lock()
				r.Checked++
				if rounded {
					r.Rounded++
				}
				if bad != "" {
					r.Mismatches++
					if len(r.Examples) < maxExamples {
						r.Examples = append(r.Examples, bad)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.Pass = r.Error == "" && r.SeriesGot == r.SeriesWant && r.Mismatches == 0 && r.Rounded == 0 && r.Checked == n
	return r
}

// checkSpot returns what is wrong with one sample as read back, or "", and
// whether its value came back rounded to roundedDigits significant digits
// rather than exact (which is not counted as wrong).
func checkSpot(ctx context.Context, c *apiClient, srv *server, w *loadgen.Workload, sp spot) (string, bool) {
	t, v := w.Sample(sp.series, sp.round)
	sel := selector(w.Labels(sp.series))
	res, err := c.instant(ctx, srv, sel+"[1ms]", t)
	if err != nil {
		return fmt.Sprintf("series %d round %d: %v", sp.series, sp.round, err), false
	}
	if len(res) != 1 || len(res[0].Values) != 1 {
		return fmt.Sprintf("series %d round %d: %s at %d: got %d series, want 1 with 1 sample", sp.series, sp.round, sel, t, len(res)), false
	}
	got := res[0].Values[0]
	switch {
	case got.T == t && sameValue(got.V, v):
		return "", false
	case got.T == t && roundedValue(got.V, v):
		return "", true
	}
	return fmt.Sprintf("series %d round %d: got (%d, %v), want (%d, %v)", sp.series, sp.round, got.T, got.V, t, v), false
}

// roundedDigits is the precision below which a value read back counts as
// rounded rather than wrong: VictoriaMetrics keeps 12 significant digits.
const roundedDigits = 12

// roundedValue reports whether got is want rounded to roundedDigits
// significant digits.
func roundedValue(got, want float64) bool {
	return math.Abs(got-want) <= math.Abs(want)*math.Pow(10, -roundedDigits+1)
}

// sameValue compares floats as stored: equal, or both NaN.
func sameValue(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}
