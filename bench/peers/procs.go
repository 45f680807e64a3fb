package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one server process, started in its own process group so that it and
// anything it forks can be signalled together.
type proc struct {
	name string
	cmd  *exec.Cmd
	logf *os.File
	done chan struct{} // closed when the process has been reaped
	err  error         // the wait error; valid after done is closed
}

// procSet tracks every process the harness started, so that all of them are
// killed on every exit path.
type procSet struct {
	mu    sync.Mutex
	procs map[*proc]struct{} // guarded by mu
}

func newProcSet() *procSet { return &procSet{procs: map[*proc]struct{}{}} }

// start runs bin with args in a new process group, with stdout and stderr
// appended to logPath.
func (s *procSet) start(name, bin string, args []string, logPath string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Setpgid: the server is not in the terminal's group, so Ctrl-C reaches
	// only the harness, which then kills the group. Pdeathsig is the last
	// resort should the harness itself be killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logf: logf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs[p] = struct{}{}
	s.mu.Unlock()
	return p, nil
}

// pid is the process id of the server.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process group of p.
func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return nil
	}
	err := syscall.Kill(-p.pid(), sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s to %s (pgid %d): %w", sig, p.name, p.pid(), err)
	}
	return nil
}

// kill sends SIGKILL to the process group of p and waits until it is reaped.
func (s *procSet) kill(p *proc) error {
	err := p.signal(syscall.SIGKILL)
	<-p.done
	s.forget(p)
	return err
}

// stop asks the process group of p to end with SIGTERM and kills it if it is
// still running after grace.
func (s *procSet) stop(p *proc, grace time.Duration) error {
	if err := p.signal(syscall.SIGTERM); err != nil {
		return s.kill(p)
	}
	select {
	case <-p.done:
		s.forget(p)
		return nil
	case <-time.After(grace):
		return s.kill(p)
	}
}

func (s *procSet) forget(p *proc) {
	s.mu.Lock()
	delete(s.procs, p)
	s.mu.Unlock()
}

// killAll kills every process still running. It is safe to call more than once.
func (s *procSet) killAll() {
	s.mu.Lock()
	ps := make([]*proc, 0, len(s.procs))
	for p := range s.procs {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	for _, p := range ps {
		_ = s.kill(p)
	}
}

// memStatus holds the memory figures of /proc/PID/status, in bytes.
type memStatus struct {
	PeakRSS int64 // VmHWM
	RSS     int64 // VmRSS
}

func readMemStatus(pid int) (memStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	m, err := parseMemStatus(string(b))
	if err != nil {
		return memStatus{}, fmt.Errorf("parse /proc/%d/status: %w", pid, err)
	}
	return m, nil
}

// parseMemStatus reads VmHWM and VmRSS (given in kB) from /proc/PID/status.
func parseMemStatus(status string) (memStatus, error) {
	var m memStatus
	found := 0
	for line := range strings.Lines(status) {
		key, rest, ok := strings.Cut(line, ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("%s: unexpected value %q", key, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", key, err)
		}
		if key == "VmHWM" {
			m.PeakRSS = kb << 10
		} else {
			m.RSS = kb << 10
		}
		found++
	}
	if found != 2 {
		return m, errors.New("VmHWM or VmRSS missing")
	}
	return m, nil
}

// dirSize is the sum of the apparent sizes of the regular files under dir,
// skipping the subtrees named in skip (relative to dir).
func dirSize(dir string, skip ...string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return total, nil
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
