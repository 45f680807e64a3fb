package ring

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that a stopped Node leaves no goroutine behind. Two of
// memberlist's are let off, since neither has a case for shutdown and both
// end by themselves: a probe in flight when the node stops waits for its
// ack or its timeout, and the transport's handler of a connection a peer
// opened just before reads its first byte until the peer, stopping too,
// closes it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"),
		goleak.IgnoreAnyFunction("github.com/grafana/dskit/kv/memberlist.(*TCPTransport).handleConnection"))
}
