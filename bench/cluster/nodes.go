package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const (
	apiPort    = "9090"
	gossipPort = "7946"
	startWait  = 2 * time.Minute
)

// node is one running gorilla-remote process.
type node struct {
	name string
	ip   string
	cmd  *exec.Cmd
	done chan struct{}
}

func (n *node) api() string { return "http://" + net.JoinHostPort(n.ip, apiPort) }

// startNodes starts the nodes of s, each on 127.0.0.<21+i>, under dir.
func startNodes(o options, bin, dir string, s setup) ([]*node, error) {
	bucket := filepath.Join(dir, "bucket")
	if err := os.MkdirAll(bucket, 0o755); err != nil {
		return nil, err
	}
	objstore := filepath.Join(dir, "bucket.yml")
	if err := os.WriteFile(objstore, fmt.Appendf(nil, "type: FILESYSTEM\nconfig:\n  directory: %s\n", bucket), 0o644); err != nil {
		return nil, err
	}
	var join []string
	for i := range s.nodes {
		join = append(join, net.JoinHostPort(fmt.Sprintf("127.0.0.%d", 21+i), gossipPort))
	}
	var nodes []*node
	for i := range s.nodes {
		n := &node{name: fmt.Sprintf("node-%d", i+1), ip: fmt.Sprintf("127.0.0.%d", 21+i), done: make(chan struct{})}
		args := []string{
			"--web.listen-address=" + net.JoinHostPort(n.ip, apiPort),
			"--storage.path=" + filepath.Join(dir, n.name),
			"--objstore.config-file=" + objstore,
			"--log.level=warn",
		}
		if s.nodes > 1 {
			args = append(args,
				"--cluster.node-name="+n.name,
				"--cluster.listen-address="+net.JoinHostPort(n.ip, gossipPort),
				"--cluster.advertise-address="+n.ip,
				fmt.Sprintf("--cluster.replication-factor=%d", s.rf),
				"--cluster.heartbeat-timeout="+o.heartbeat.String())
			for _, j := range join {
				args = append(args, "--cluster.join="+j)
			}
		}
		logf, err := os.Create(filepath.Join(dir, n.name+".log"))
		if err != nil {
			stopNodes(nodes)
			return nil, err
		}
		n.cmd = exec.Command(bin, args...)
		n.cmd.Stdout, n.cmd.Stderr = logf, logf
		n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := n.cmd.Start(); err != nil {
			logf.Close()
			stopNodes(nodes)
			return nil, fmt.Errorf("start %s: %w", n.name, err)
		}
		go func() { _ = n.cmd.Wait(); logf.Close(); close(n.done) }()
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// stopNodes ends every node with SIGTERM, then SIGKILL after a minute.
func stopNodes(nodes []*node) {
	for _, n := range nodes {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, n := range nodes {
		select {
		case <-n.done:
		case <-time.After(time.Minute):
			_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-n.done
		}
	}
}

// waitReady waits until every node is ready and, in a cluster, sees all
// of them ACTIVE and healthy.
func waitReady(ctx context.Context, nodes []*node) error {
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	for _, n := range nodes {
		for {
			why := notReady(ctx, n, len(nodes))
			if why == "" {
				break
			}
			select {
			case <-n.done:
				return fmt.Errorf("%s exited during start (see its log)", n.name)
			case <-ctx.Done():
				return fmt.Errorf("%s not ready: %s", n.name, why)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func notReady(ctx context.Context, n *node, want int) string {
	if code, err := get(ctx, n.api()+"/-/ready", nil); err != nil || code != http.StatusOK {
		return fmt.Sprintf("/-/ready: %d %v", code, err)
	}
	if want == 1 {
		return ""
	}
	var st struct {
		Data struct {
			Members []struct {
				Name    string `json:"name"`
				State   string `json:"state"`
				Healthy bool   `json:"healthy"`
			} `json:"members"`
		} `json:"data"`
	}
	if _, err := get(ctx, n.api()+"/api/v1/status/cluster", &st); err != nil {
		return err.Error()
	}
	active := 0
	for _, m := range st.Data.Members {
		if m.State == "ACTIVE" && m.Healthy {
			active++
		}
	}
	if active != want {
		return fmt.Sprintf("%d of %d members ACTIVE and healthy", active, want)
	}
	return ""
}

// get fetches u and decodes its JSON into out when out is not nil.
func get(ctx context.Context, u string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("GET %s: %w", u, err)
		}
	}
	return resp.StatusCode, nil
}

// cpu sums the CPU time the nodes have used so far.
func cpu(nodes []*node) (time.Duration, error) {
	var sum time.Duration
	var errs []error
	for _, n := range nodes {
		d, err := processCPU(n.cmd.Process.Pid)
		sum += d
		errs = append(errs, err)
	}
	return sum, errors.Join(errs...)
}
