package ring

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that a stopped Node leaves no goroutine behind. One of
// memberlist's is let off: a probe in flight when the node stops waits for
// its ack or its timeout, with no case for shutdown, and then ends by
// itself.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}
