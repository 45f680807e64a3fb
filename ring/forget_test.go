package ring

import (
	"log/slog"
	"testing"
	"time"

	dskitring "github.com/grafana/dskit/ring"
)

// TestWakeForget: a node forgets a peer silent for longer than the forget
// period, but not on the heartbeats right after its own silence (a pause
// it wakes from, when its view of every peer is as old as its own entry).
func TestWakeForget(t *testing.T) {
	const timeout, forgetAfter = 5 * time.Second, 50 * time.Second
	// dskit's auto-forget reads the real clock: the peer's last heartbeat
	// is a minute before it; the guard reads d.now.
	now := time.Now()
	start := now.Add(-time.Minute)
	ring := func(self, peer time.Time) (*dskitring.Desc, *dskitring.InstanceDesc) {
		d := dskitring.NewDesc()
		d.AddIngester("self", "127.0.0.1:1", "", []uint32{1}, dskitring.ACTIVE, start, false, time.Time{}, nil)
		d.AddIngester("peer", "127.0.0.1:2", "", []uint32{2}, dskitring.ACTIVE, start, false, time.Time{}, nil)
		s, p := d.Ingesters["self"], d.Ingesters["peer"]
		s.Timestamp, p.Timestamp = self.Unix(), peer.Unix()
		d.Ingesters["self"], d.Ingesters["peer"] = s, p
		self1 := d.Ingesters["self"]
		return d, &self1
	}
	newDelegate := func(now *time.Time) *wakeForget {
		next := dskitring.NewInstanceRegisterDelegate(dskitring.JOINING, 1)
		d := newWakeForget(next, forgetAfter, timeout, slogKit{slog.New(slog.DiscardHandler)})
		d.now = func() time.Time { return *now }
		return d
	}
	beat := func(d *wakeForget, self, peer time.Time) bool {
		desc, s := ring(self, peer)
		d.OnRingInstanceHeartbeat(nil, desc, s)
		_, kept := desc.Ingesters["peer"]
		return kept
	}

	d := newDelegate(&now)
	if kept := beat(d, now.Add(-time.Second), start); kept {
		t.Fatalf("a node heartbeating all along: peer silent for %v kept, want forgotten", now.Sub(start))
	}

	d = newDelegate(&now)
	if kept := beat(d, start, start); !kept {
		t.Fatalf("first heartbeat after a %v pause: peer forgotten, want kept", now.Sub(start))
	}
	woke := now
	now = woke.Add(timeout - time.Second)
	if kept := beat(d, woke, start); !kept {
		t.Fatalf("heartbeat %v after waking: peer forgotten, want kept", now.Sub(woke))
	}
	now = woke.Add(timeout + time.Second)
	if kept := beat(d, now.Add(-time.Second), start); kept {
		t.Fatalf("heartbeat %v after waking, the peer still silent: kept, want forgotten", now.Sub(woke))
	}
}
