package ring

import (
	"time"

	dskitring "github.com/grafana/dskit/ring"
)

// wakeForget is the lifecycler delegate that forgets crashed instances
// (dskit's auto-forget, wrapped as forget), except while this node's own
// view of the ring is stale.
//
// A node that was paused (SIGSTOP, a frozen VM, a long stall) wakes with
// the ring as it was before the pause: every peer's last heartbeat looks as
// old as its own. Forgetting them then would remove live peers from the
// ring everywhere, because the removal is newer than their last heartbeat.
// So when this node's own previous heartbeat is older than the heartbeat
// timeout, it forgets nobody for one more timeout, long enough for gossip
// to bring the peers' heartbeats in.
//
// The lifecycler calls the delegate from its one goroutine: quietUntil
// needs no lock.
type wakeForget struct {
	forget     dskitring.BasicLifecyclerDelegate // the chain with the auto-forget
	plain      dskitring.BasicLifecyclerDelegate // the same chain without it
	timeout    time.Duration
	now        func() time.Time
	quietUntil time.Time
}

var _ dskitring.BasicLifecyclerDelegate = (*wakeForget)(nil)

// newWakeForget forgets instances silent for forgetAfter on top of next,
// with the pause guard above for the heartbeat timeout timeout.
func newWakeForget(next dskitring.BasicLifecyclerDelegate, forgetAfter, timeout time.Duration, logger slogKit) *wakeForget {
	return &wakeForget{
		forget: dskitring.NewAutoForgetDelegate(forgetAfter, next, logger),
		plain:  next, timeout: timeout, now: time.Now,
	}
}

// OnRingInstanceRegister passes the call on.
func (d *wakeForget) OnRingInstanceRegister(lc *dskitring.BasicLifecycler, desc dskitring.Desc, exists bool, id string, inst dskitring.InstanceDesc) (dskitring.InstanceState, dskitring.Tokens) {
	return d.forget.OnRingInstanceRegister(lc, desc, exists, id, inst)
}

// OnRingInstanceTokens passes the call on.
func (d *wakeForget) OnRingInstanceTokens(lc *dskitring.BasicLifecycler, tokens dskitring.Tokens) {
	d.forget.OnRingInstanceTokens(lc, tokens)
}

// OnRingInstanceStopping passes the call on.
func (d *wakeForget) OnRingInstanceStopping(lc *dskitring.BasicLifecycler) {
	d.forget.OnRingInstanceStopping(lc)
}

// OnRingInstanceHeartbeat forgets long-silent instances unless this node
// itself was silent: self is this node's entry before the lifecycler
// stamps the new heartbeat.
func (d *wakeForget) OnRingInstanceHeartbeat(lc *dskitring.BasicLifecycler, desc *dskitring.Desc, self *dskitring.InstanceDesc) {
	now := d.now()
	if now.Sub(time.Unix(self.GetTimestamp(), 0)) > d.timeout {
		d.quietUntil = now.Add(d.timeout)
	}
	if now.Before(d.quietUntil) {
		d.plain.OnRingInstanceHeartbeat(lc, desc, self)
		return
	}
	d.forget.OnRingInstanceHeartbeat(lc, desc, self)
}
