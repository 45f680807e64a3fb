package head

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// churnLabels is series i of churn round r: five labels shared by every
// round and two, pod and uid, that no other round uses.
func churnLabels(r, i int) labels.Labels {
	return labels.FromStrings(
		"__name__", fmt.Sprintf("container_metric_%d", i%20),
		"cluster", "eu-west-1",
		"job", "kubelet",
		"namespace", fmt.Sprintf("ns-%d", i%10),
		"pod", fmt.Sprintf("pod-%d-%d", r, i/10),
		"service", "kubelet",
		"uid", fmt.Sprintf("%08x-%d", r*1_000_003+i, r),
	)
}

// churnRound writes round r: n new series, two samples each, at the start
// of the r-th pair of block windows, then releases everything older. The
// series of round r-1 are then empty and silent for a whole window: they
// are dropped.
func churnRound(t testing.TB, h *Head, r, n int) {
	t.Helper()
	base := int64(r) * 2 * h.win.Block()
	app := h.Appender()
	for i := range n {
		lset := churnLabels(r, i)
		ref, err := app.Append(0, lset, base, float64(i))
		require.NoError(t, err)
		_, err = app.Append(ref, lset, base+60_000, float64(i))
		require.NoError(t, err)
		if i%2000 == 1999 {
			require.NoError(t, app.Commit())
		}
	}
	require.NoError(t, app.Commit())
	h.Truncate(base)
}

// settle collects garbage until the symbols of dropped series are released:
// they are released once nothing refers to their series any more, by a
// cleanup the collector runs.
func settle(h *Head) {
	prev := -1
	for range 20 {
		runtime.GC()
		time.Sleep(time.Millisecond) // lets the cleanup goroutine run
		n := symbolCount(h)
		if n == prev {
			return
		}
		prev = n
	}
}

func symbolCount(h *Head) int {
	h.syms.mu.Lock()
	defer h.syms.mu.Unlock()
	return len(h.syms.ids)
}

// TestSymbolsShrinkUnderChurn replaces all series by new ones, round after
// round: the symbol table holds the strings of the live series, not of
// every series the head ever had.
func TestSymbolsShrinkUnderChurn(t *testing.T) {
	h := openTest(t, nil)
	const n = 2000
	churnRound(t, h, 0, n)
	first := symbolCount(h) // nothing dropped yet: exact
	for r := 1; r < 6; r++ {
		churnRound(t, h, r, n)
	}
	require.Equal(t, n, h.Stats().Series, "series of the last round only")
	// The collector runs the cleanups that give symbols back on its own
	// goroutine: collect until they are done, or give up.
	for i := 0; i < 500 && symbolCount(h) != first; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, first, symbolCount(h), "symbols after five more rounds (first round: %d)", first)

	// The series of the last round read back with their own labels, ids
	// reused or not.
	for i := range n {
		lset := churnLabels(5, i)
		info, ok := h.Info(lset)
		require.True(t, ok, "series %s", lset)
		require.Equal(t, 2, info.Samples)
	}
}

// TestLabelsStayIntactUnderConcurrentChurn drops and creates series while
// queries read labels and the collector frees the symbols of dropped
// series: every series read back has the labels it was created with, as
// ids of dropped series are reused only once nothing can read them.
func TestLabelsStayIntactUnderConcurrentChurn(t *testing.T) {
	h := openTest(t, nil)
	const rounds, n = 12, 300
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
	errs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			series, err := h.Select(context.Background(), math.MinInt64, math.MaxInt64)
			if err == nil {
				err = checkChurnLabels(series)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := range rounds {
		churnRound(t, h, r, n)
	}
	close(done)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	series, err := h.Select(context.Background(), math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Len(t, series, n)
	require.NoError(t, checkChurnLabels(series))
}

// checkChurnLabels checks that each series has exactly the labels
// churnLabels gives the round and index its uid names.
func checkChurnLabels(series []*Series) error {
	for _, s := range series {
		var x, r int
		if _, err := fmt.Sscanf(s.Labels.Get("uid"), "%x-%d", &x, &r); err != nil {
			return fmt.Errorf("series %s: uid: %w", s.Labels, err)
		}
		if want := churnLabels(r, x-r*1_000_003); !labels.Equal(s.Labels, want) {
			return fmt.Errorf("series read as %s, created as %s", s.Labels, want)
		}
	}
	return nil
}
