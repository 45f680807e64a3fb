package ring

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestToken(t *testing.T) {
	a := labels.FromStrings("__name__", "up", "job", "node", "instance", "a:9100")
	// FromStrings sorts, so a different order of construction is the same set.
	b := labels.FromStrings("instance", "a:9100", "job", "node", "__name__", "up")
	if got, want := Token("t1", a), Token("t1", b); got != want {
		t.Fatalf("label order changed the token: %d vs %d", got, want)
	}
	if got, want := Token("t1", a), Token("t1", a.Copy()); got != want {
		t.Fatalf("token not stable: %d vs %d", got, want)
	}
	if Token("t1", a) == Token("t2", a) {
		t.Fatalf("tenant does not change the token")
	}
	// Separators keep boundaries: neither tenant nor label can absorb the next.
	cases := []struct {
		t1, t2 string
		l1, l2 labels.Labels
	}{
		{"ab", "a", labels.FromStrings("c", "d"), labels.FromStrings("bc", "d")},
		{"t", "t", labels.FromStrings("a", "bc"), labels.FromStrings("ab", "c")},
		{"t", "t", labels.FromStrings("a", "b"), labels.FromStrings("a", "b", "c", "")},
	}
	for i, c := range cases {
		if Token(c.t1, c.l1) == Token(c.t2, c.l2) {
			t.Errorf("case %d: %q%v and %q%v share a token", i, c.t1, c.l1, c.t2, c.l2)
		}
	}
}

// TestTokenPinned pins values: the token is part of the cluster protocol,
// so a change here must be deliberate.
func TestTokenPinned(t *testing.T) {
	got := Token("anonymous", labels.FromStrings("__name__", "up", "job", "node"))
	if want := pinnedToken; got != want {
		t.Fatalf("Token = %d, want %d", got, want)
	}
}

const pinnedToken uint32 = 1197398224

// BenchmarkToken hashes a label set of ten labels, as a typical series
// of a node exporter carries.
func BenchmarkToken(b *testing.B) {
	lset := labels.FromStrings("__name__", "node_network_receive_bytes_total", "device", "eth0",
		"env", "production", "instance", "10.0.0.1:9100", "job", "node", "region", "us-east-1",
		"service", "checkout", "team", "payments", "zone", "us-east-1a", "cluster", "prod-1")
	b.ReportAllocs()
	for b.Loop() {
		_ = Token("anonymous", lset)
	}
}
