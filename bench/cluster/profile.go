package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// startProfiles asks every node for a CPU profile of the next d
// (/debug/pprof/profile) and saves each as <dir>/<node>.cpu.pprof. The
// returned function waits for the profiles and reports what failed; with
// d == 0 nothing is asked and it returns nil at once. A profile longer than
// the measured phase also covers what follows it (the queries).
func startProfiles(ctx context.Context, nodes []*node, dir string, d time.Duration) func() error {
	if d <= 0 {
		return func() error { return nil }
	}
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() {
			errs[i] = saveProfile(ctx, n, filepath.Join(dir, n.name+".cpu.pprof"), d)
		})
	}
	return func() error {
		wg.Wait()
		return errors.Join(errs...)
	}
}

func saveProfile(ctx context.Context, n *node, path string, d time.Duration) error {
	secs := strconv.Itoa(max(1, int(d/time.Second)))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.api()+"/debug/pprof/profile?seconds="+secs, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: profile: %w", n.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: profile: %s", n.name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("%s: save profile: %w", n.name, err)
	}
	return f.Close()
}
