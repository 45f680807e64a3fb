package head

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/wal"
)

// The crash test runs this test binary again as a child that appends until
// it is killed with SIGKILL. The child prints the timestamp of every batch
// after its Commit returned; the parent then reopens the head and checks that
// every printed batch is there, bit for bit.
const (
	killChildEnv   = "GORILLA_HEAD_KILL_CHILD_DIR"
	killFsyncEnv   = "GORILLA_HEAD_KILL_CHILD_FSYNC"
	killSeriesN    = 20
	killBatchEvery = 1000 // ms between batch timestamps
)

func killSeries(i int) labels.Labels {
	return labels.FromStrings("__name__", "crash_test", "i", strconv.Itoa(i))
}

// killValue is the value of series i at t: varied bit patterns, including
// NaN payloads, so the test checks values bit for bit.
func killValue(i int, t int64) float64 {
	return math.Float64frombits(uint64(t)*0x9E3779B97F4A7C15 ^ uint64(i))
}

func runKillChild() {
	pol, err := wal.ParseFsyncPolicy(os.Getenv(killFsyncEnv))
	if err != nil {
		panic(err)
	}
	h, err := Open(Options{
		Dir: os.Getenv(killChildEnv), MaintenanceInterval: -1, Stripes: 16,
		BlockDuration: time.Minute, WAL: wal.Options{Fsync: pol, SegmentSize: 256 << 10},
	})
	if err != nil {
		panic(err)
	}
	next := int64(0)
	if mt := h.maxTime.Load(); mt != math.MinInt64 {
		next = mt + killBatchEvery
	}
	out := bufio.NewWriter(os.Stdout)
	for n := 0; ; n++ {
		app := h.Appender()
		for i := range killSeriesN {
			if _, err := app.Append(0, killSeries(i), next, killValue(i, next)); err != nil {
				panic(err)
			}
		}
		if err := app.Commit(); err != nil {
			panic(err)
		}
		fmt.Fprintln(out, next)
		_ = out.Flush()
		if n%200 == 199 {
			if err := h.Checkpoint(context.Background()); err != nil {
				panic(err)
			}
		}
		next += killBatchEvery
	}
}

func TestCrashKeepsCommittedSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, pol := range []string{"interval", "always"} {
		t.Run(pol, func(t *testing.T) {
			dir := t.TempDir()
			acked := map[int64]bool{}
			rng := rand.New(rand.NewPCG(1, uint64(len(pol))))
			for round := range 6 {
				lines := runAndKill(t, dir, pol, time.Duration(50+rng.IntN(400))*time.Millisecond)
				for _, ts := range lines {
					acked[ts] = true
				}
				checkAcked(t, dir, acked, round)
			}
			require.NotEmpty(t, acked)
		})
	}
}

// runAndKill starts a child appending into dir, kills it with SIGKILL after
// d, and returns the batch timestamps it acknowledged.
func runAndKill(t *testing.T, dir, pol string, d time.Duration) []int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir, killFsyncEnv+"="+pol)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	lines := make(chan int64, 1<<16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			// A line cut by the kill does not parse; its batch is not counted.
			if ts, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				lines <- ts
			}
		}
	}()
	time.Sleep(d)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	var got []int64
	for ts := range lines {
		got = append(got, ts)
	}
	_ = cmd.Wait()
	return got
}

func checkAcked(t *testing.T, dir string, acked map[int64]bool, round int) {
	t.Helper()
	h, err := Open(Options{Dir: dir, MaintenanceInterval: -1, Stripes: 16, BlockDuration: time.Minute})
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	for i := range killSeriesN {
		got := mustRange(t, h, killSeries(i))
		stored := make(map[int64]float64, len(got))
		for _, s := range got {
			stored[s.T] = s.V
			if math.Float64bits(s.V) != math.Float64bits(killValue(i, s.T)) {
				t.Fatalf("round %d series %d t=%d: value %x, want %x", round, i, s.T,
					math.Float64bits(s.V), math.Float64bits(killValue(i, s.T)))
			}
		}
		for ts := range acked {
			if _, ok := stored[ts]; !ok {
				t.Fatalf("round %d: series %d lost acknowledged sample at t=%d (%d stored, %d acknowledged)",
					round, i, ts, len(got), len(acked))
			}
		}
	}
}
