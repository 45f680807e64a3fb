package blocktest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// Source is one implementation under test, opened empty for each check.
type Source struct {
	// Source is the implementation under test. Required.
	block.Source
	// Append stores and commits one sample. Required.
	Append func(lset labels.Labels, t int64, v float64) error
	// BlockDuration is the source's window length: windows are aligned to
	// its multiples since the epoch and no chunk crosses one. It must be at
	// least a minute. Required.
	BlockDuration time.Duration
}

// Check is one clause of the contract.
type Check struct {
	// Name says the clause, as the subtest name.
	Name string
	// Run returns nil when s keeps the clause, an error saying how it
	// breaks it otherwise, or ErrSkip when s cannot be checked for it.
	Run func(s Source) error
}

// ErrSkip is returned by a Check that does not apply to the source.
var ErrSkip = errors.New("blocktest: clause does not apply to this source")

// Checks returns the clauses of the block.Source contract, each run on a
// freshly opened source.
func Checks() []Check {
	return []Check{
		{"an empty source has no time range", checkEmpty},
		{"min and max time follow the samples", checkTimeRange},
		{"window series hold the window's samples", checkWindow},
		{"window series stop on a cancelled context", checkCancelled},
		{"SealBefore refuses older samples", checkSeal},
		{"windows are the source's and no chunk crosses one", checkWindows},
		{"SetShipped keeps the data readable", checkShipped},
	}
}

// TestSource runs every check of Checks as a subtest, each on a source open
// returns. open may register cleanups on its t.
func TestSource(t *testing.T, open func(t *testing.T) Source) {
	t.Helper()
	for _, c := range Checks() {
		t.Run(c.Name, func(t *testing.T) {
			s := open(t)
			if s.Source == nil || s.Append == nil || s.BlockDuration < time.Minute {
				t.Fatal("blocktest: Source needs Source, Append and a BlockDuration of at least a minute")
			}
			err := c.Run(s)
			if errors.Is(err, ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// series is one series of a window as decoded from its chunks.
type series struct {
	lset    labels.Labels
	samples []model.Sample
}

// window returns the series WindowSeries gives for [mint, maxt], decoded,
// after checking that the chunks lie inside it, are in time order and
// span exactly their samples.
func window(s Source, mint, maxt int64) ([]series, error) {
	cs, err := s.WindowSeries(context.Background(), mint, maxt)
	if err != nil {
		return nil, fmt.Errorf("window series [%d, %d]: %w", mint, maxt, err)
	}
	out := make([]series, 0, len(cs))
	for _, c := range cs {
		sr := series{lset: c.Labels}
		for i, ch := range c.Chunks {
			if ch.MinT < mint || ch.MaxT > maxt {
				return nil, fmt.Errorf("series %s: chunk %d spans [%d, %d], outside the window [%d, %d]", c.Labels, i, ch.MinT, ch.MaxT, mint, maxt)
			}
			got, err := decode(ch)
			if err != nil {
				return nil, fmt.Errorf("series %s: chunk %d: %w", c.Labels, i, err)
			}
			if n := len(sr.samples); n > 0 && got[0].T <= sr.samples[n-1].T {
				return nil, fmt.Errorf("series %s: chunk %d starts at %d, not after the previous one's end %d", c.Labels, i, got[0].T, sr.samples[n-1].T)
			}
			sr.samples = append(sr.samples, got...)
		}
		out = append(out, sr)
	}
	return out, nil
}

// decode returns the samples of ch after checking its bounds are those of
// its first and last sample.
func decode(ch model.Chunk) ([]model.Sample, error) {
	var out []model.Sample
	it := chunkenc.NewIterator(ch.Data)
	for it.Next() {
		t, v := it.At()
		out = append(out, model.Sample{T: t, V: v})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("empty chunk")
	}
	if out[0].T != ch.MinT || out[len(out)-1].T != ch.MaxT {
		return nil, fmt.Errorf("bounds [%d, %d], samples from %d to %d", ch.MinT, ch.MaxT, out[0].T, out[len(out)-1].T)
	}
	return out, nil
}

// expectWindow returns an error unless WindowSeries for [mint, maxt] gives
// exactly want, in that order.
func expectWindow(s Source, mint, maxt int64, want []series) error {
	got, err := window(s, mint, maxt)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("window [%d, %d]: got %d series %v, want %d %v", mint, maxt, len(got), got, len(want), want)
	}
	for i := range want {
		if labels.Compare(got[i].lset, want[i].lset) != 0 {
			return fmt.Errorf("window [%d, %d]: series %d is %s, want %s (sorted by labels)", mint, maxt, i, got[i].lset, want[i].lset)
		}
		if fmt.Sprint(got[i].samples) != fmt.Sprint(want[i].samples) {
			return fmt.Errorf("window [%d, %d]: series %s: got samples %v, want %v", mint, maxt, want[i].lset, got[i].samples, want[i].samples)
		}
	}
	return nil
}

// appendAll appends each sample of each series, in the order given.
func appendAll(s Source, in ...series) error {
	for _, sr := range in {
		for _, smp := range sr.samples {
			if err := s.Append(sr.lset, smp.T, smp.V); err != nil {
				return fmt.Errorf("append %s at %d: %w", sr.lset, smp.T, err)
			}
		}
	}
	return nil
}
