package ring

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that a stopped Node leaves no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
