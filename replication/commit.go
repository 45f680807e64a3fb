package replication

import (
	"errors"
	"fmt"

	"github.com/gorilla-remote/gorilla-remote/model"
	"github.com/gorilla-remote/gorilla-remote/ring"
)

// batch is the part of a write that goes to one replica: the indexes of
// its series in the appender's list.
type batch struct {
	to     ring.Instance
	series []int
}

// outcome is how one replica answered its batch.
type outcome struct {
	replica string
	series  []int
	// stored: the batch is in the replica's WAL, but for the samples it
	// refused for client reasons (rejected says which, "" for none). A
	// batch that failed (err set) may be stored in part or not at all.
	stored    bool
	rejected  string
	transient bool // rejected for the memory limit: a retry may pass
	err       error
}

// bufferedRing is a ring that looks owners up into reused buffers, as
// ring.Node does; placement prefers it to Owners when the ring has it.
type bufferedRing interface {
	OwnersInto(token uint32, rf int, buf *ring.OwnersBuffer) ([]ring.Instance, error)
}

// owners returns the replicas of token, through buf when the ring can use
// it; the slice is valid until the next call with buf.
func (d *Distributor) owners(token uint32, buf *ring.OwnersBuffer) ([]ring.Instance, error) {
	if br, ok := d.opts.Ring.(bufferedRing); ok {
		return br.OwnersInto(token, d.opts.ReplicationFactor, buf)
	}
	return d.opts.Ring.Owners(token, d.opts.ReplicationFactor)
}

// placement maps every series of a to its replicas and groups them into
// one batch per replica. It fails with model.ErrNoQuorum when a series
// has fewer healthy replicas than the quorum, before anything is sent.
// A write has a handful of replicas, so they are found by a linear scan.
func (d *Distributor) placement(a *appender) ([]*batch, []int, error) {
	var batches []*batch
	var buf ring.OwnersBuffer
	replicas := make([]int, len(a.list))
	for i := range a.list {
		owners, err := d.owners(a.list[i].token, &buf)
		if err == nil && len(owners) < d.quorum {
			err = fmt.Errorf("%d healthy replicas, the write quorum is %d", len(owners), d.quorum)
		}
		if err != nil {
			d.metrics.noQuorum.Inc()
			return nil, nil, fmt.Errorf("%w: series %s: %w", model.ErrNoQuorum, a.list[i].lset, err)
		}
		replicas[i] = len(owners)
		for _, o := range owners {
			b := findBatch(batches, o.ID)
			if b == nil {
				b = &batch{to: o, series: make([]int, 0, len(a.list))}
				batches = append(batches, b)
			}
			b.series = append(b.series, i)
		}
	}
	return batches, replicas, nil
}

func findBatch(batches []*batch, id string) *batch {
	for _, b := range batches {
		if b.to.ID == id {
			return b
		}
	}
	return nil
}

// commit sends every batch of a to its replica at once, the local one
// appended in this goroutine, and returns as soon as each series has a
// write quorum of replicas (nil, or model.ErrRejected for samples refused
// as invalid) or one series can no longer reach it (model.ErrNoQuorum).
func (d *Distributor) commit(a *appender) error {
	batches, replicas, err := d.placement(a)
	if err != nil {
		return err
	}
	self := d.opts.Ring.Self().ID
	results := make(chan outcome, len(batches)) // never blocks a late push
	pushed := make([]*batch, 0, len(batches))
	for _, b := range batches {
		if b.to.ID != self {
			pushed = append(pushed, b)
		}
	}
	for i, y := range bodies(a, pushed) {
		d.inflight.Add(1)
		go func() {
			defer d.inflight.Done()
			results <- d.push(a, pushed[i], y)
		}()
	}
	t := newTally(replicas, d.quorum)
	pending := len(batches)
	if b := findBatch(batches, self); b != nil || len(a.metadata) > 0 {
		res := d.appendLocal(a, b)
		if b != nil {
			pending--
			t.add(res)
		}
	}
	for !t.decided() && pending > 0 {
		t.add(<-results)
		pending--
	}
	return t.result(a)
}

// tally counts, per series, the replicas that stored it and those that
// failed, and keeps the first refusal and the first failure.
type tally struct {
	quorum    int
	replicas  []int // per series: its replicas
	ok, fail  []int // per series
	missing   int   // series without their quorum yet
	lost      int   // index+1 of a series that can no longer reach it
	rejected  string
	transient bool
	firstErr  error
	failedOn  string
}

func newTally(replicas []int, quorum int) *tally {
	n := len(replicas)
	return &tally{quorum: quorum, replicas: replicas, ok: make([]int, n), fail: make([]int, n), missing: n}
}

func (t *tally) add(o outcome) {
	if o.err != nil {
		if t.firstErr == nil {
			t.firstErr, t.failedOn = o.err, o.replica
		}
		for _, i := range o.series {
			t.fail[i]++
			if t.replicas[i]-t.fail[i] < t.quorum && t.lost == 0 {
				t.lost = i + 1
			}
		}
		return
	}
	if o.rejected != "" && t.rejected == "" {
		t.rejected = o.rejected
	}
	t.transient = t.transient || o.transient
	for _, i := range o.series {
		t.ok[i]++
		if t.ok[i] == t.quorum {
			t.missing--
		}
	}
}

// decided reports whether every series has its quorum or one has lost it.
func (t *tally) decided() bool { return t.missing == 0 || t.lost != 0 }

// result is the commit's answer once decided (or once every replica
// answered).
func (t *tally) result(a *appender) error {
	if t.lost != 0 || t.missing > 0 {
		i := t.lost - 1
		if i < 0 {
			i = t.firstMissing()
		}
		cause := t.firstErr
		if cause == nil {
			cause = errors.New("no answer")
		}
		return fmt.Errorf("%w: series %s stored on %d of %d replicas, the write quorum is %d: replica %s: %w",
			model.ErrNoQuorum, a.list[i].lset, t.ok[i], t.replicas[i], t.quorum, t.failedOn, cause)
	}
	switch {
	case t.transient:
		return fmt.Errorf("%w: %s", model.ErrMemoryLimit, t.rejected)
	case t.rejected != "":
		return fmt.Errorf("%w: %s", model.ErrRejected, t.rejected)
	}
	return nil
}

func (t *tally) firstMissing() int {
	for i, n := range t.ok {
		if n < t.quorum {
			return i
		}
	}
	return 0
}
