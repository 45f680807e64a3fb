package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// peerPackages maps each peer's binary to the Debian package that has it.
var peerPackages = map[string]string{"prometheus": "prometheus", "victoria-metrics": "victoria-metrics"}

// installPeers installs the Debian packages of the peers in bins that are
// missing; only the bare package binary names (not paths) are installed.
// Debian starts their services on install; those are stopped so that they do
// not share the CPU with the benchmark.
func installPeers(ctx context.Context, log *slog.Logger, bins binaries) error {
	var missing []string
	for _, bin := range []string{bins.prometheus, bins.victoria} {
		pkg, ok := peerPackages[bin]
		if !ok {
			continue
		}
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	log.Info("installing", "packages", missing)
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	steps := [][]string{{"apt-get", "update"}, append([]string{"apt-get", "install", "-y"}, missing...)}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
	}
	for _, pkg := range missing {
		// Best effort: there may be no service manager at all.
		if err := exec.CommandContext(ctx, "service", pkg, "stop").Run(); err != nil {
			log.Debug("stop service", "service", pkg, "err", err)
		}
	}
	return nil
}

// warnStrangers logs peers running that the harness did not start: they
// share the CPU and would distort every figure.
func warnStrangers(log *slog.Logger) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		comm := strings.TrimSpace(string(b))
		if _, ok := peerPackages[comm]; ok || comm == gorilla {
			log.Warn("another server is running; stop it for meaningful figures", "comm", comm, "proc", filepath.Dir(p))
		}
	}
}

// buildGorilla builds cmd/gorilla-remote into dir.
func buildGorilla(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, gorilla)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gorilla-remote")
	cmd.Dir = moduleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gorilla-remote: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the directory of the main module's go.mod, or "." when go
// cannot say.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod)
	}
	return "."
}

// machine describes the machine and the versions of the systems.
func machine(ctx context.Context, bins binaries) machineInfo {
	m := machineInfo{
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Versions: map[string]string{
			prometheus: binaryVersion(ctx, bins.prometheus, "prometheus"),
			victoria:   binaryVersion(ctx, bins.victoria, "victoria-metrics"),
		},
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.MemBytes = memTotal()
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = moduleRoot()
	if out, err := cmd.Output(); err == nil {
		m.Versions[gorilla] = strings.TrimSpace(string(out))
	}
	return m
}

// memTotal is MemTotal of /proc/meminfo in bytes, or 0.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
