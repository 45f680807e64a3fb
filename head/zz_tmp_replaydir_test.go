package head

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func BenchmarkTmpReplayDir(b *testing.B) {
	src := os.Getenv("GR_REPLAY_DIR")
	if src == "" {
		b.Skip("no dir")
	}
	for b.Loop() {
		b.StopTimer()
		dst := filepath.Join(b.TempDir(), "d")
		if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
			b.Fatal(err, string(out))
		}
		b.StartTimer()
		h, err := Open(Options{Dir: dst, MaintenanceInterval: -1, Shipping: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		h.Close()
		b.StartTimer()
	}
}
