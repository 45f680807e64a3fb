package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"github.com/oklog/run"
	"github.com/prometheus/common/config"
	"go.yaml.in/yaml/v2"

	"github.com/gorilla-remote/gorilla-remote/replication"
	"github.com/gorilla-remote/gorilla-remote/wal"
)

// regionConfig is one entry of replication.regions in the config file:
// a remote region, the client options Prometheus's remote_write takes
// (basic_auth, authorization, tls_config, proxy_url...), and the bounds
// of its queue.
type regionConfig struct {
	Name          string `yaml:"name"`
	URL           string `yaml:"url"`
	MaxLag        string `yaml:"max_lag,omitempty"`
	MaxQueueBytes string `yaml:"max_queue_bytes,omitempty"`
	Concurrency   string `yaml:"concurrency,omitempty"`
	MinBackoff    string `yaml:"min_backoff,omitempty"`
	MaxBackoff    string `yaml:"max_backoff,omitempty"`

	config.HTTPClientConfig `yaml:",inline"`
}

// UnmarshalYAML reads the region's own keys and hands the others to the
// client options, which refuse the keys they do not know.
func (rc *regionConfig) UnmarshalYAML(unmarshal func(any) error) error {
	var m yaml.MapSlice
	if err := unmarshal(&m); err != nil {
		return err
	}
	own := map[string]*string{"name": &rc.Name, "url": &rc.URL, "max_lag": &rc.MaxLag, "max_queue_bytes": &rc.MaxQueueBytes,
		"concurrency": &rc.Concurrency, "min_backoff": &rc.MinBackoff, "max_backoff": &rc.MaxBackoff}
	var rest yaml.MapSlice
	for _, kv := range m {
		p, ok := own[fmt.Sprint(kv.Key)]
		if !ok {
			rest = append(rest, kv)
			continue
		}
		if _, scalar := kv.Value.(yaml.MapSlice); scalar || kv.Value == nil {
			return fmt.Errorf("region key %v must hold one value", kv.Key)
		}
		*p = fmt.Sprint(kv.Value)
	}
	raw, err := yaml.Marshal(rest)
	if err != nil {
		return err
	}
	rc.HTTPClientConfig = config.DefaultHTTPClientConfig
	if err := yaml.UnmarshalStrict(raw, &rc.HTTPClientConfig); err != nil {
		return fmt.Errorf("region %q: %w", rc.Name, err)
	}
	return nil
}

// regionDefaults bound a region's queue when its entry does not: the
// worst-case recovery point and the disk a dead region may take.
const (
	defaultMaxLag        = 4 * time.Hour
	defaultMaxQueueBytes = 10 << 30
)

// takeRegions removes replication.regions, a list the flat keys of the
// rest of the file cannot hold, from doc, and parses it into f.s.Regions.
// File paths in it (password_file, ca_file...) are relative to the config
// file's directory.
func (f *flagSet) takeRegions(doc yaml.MapSlice) (yaml.MapSlice, error) {
	for i, sec := range doc {
		keys, ok := sec.Value.(yaml.MapSlice)
		if fmt.Sprint(sec.Key) != "replication" || !ok {
			continue
		}
		for j, kv := range keys {
			if fmt.Sprint(kv.Key) != "regions" {
				continue
			}
			raw, err := yaml.Marshal(kv.Value)
			if err != nil {
				return nil, fmt.Errorf("config key replication.regions: %w", err)
			}
			var rs []regionConfig
			if err := yaml.UnmarshalStrict(raw, &rs); err != nil {
				return nil, fmt.Errorf("config key replication.regions in %s: %w", f.configFile, err)
			}
			for k := range rs {
				rs[k].SetDirectory(filepath.Dir(f.configFile))
			}
			f.s.Regions = rs
			rest := append(append(yaml.MapSlice{}, keys[:j]...), keys[j+1:]...)
			out := append(yaml.MapSlice{}, doc...)
			out[i].Value = rest
			return out, nil
		}
	}
	return doc, nil
}

// regionOptions checks the regions of s and returns the forwarder's
// options for them, each with its HTTP client.
func regionOptions(s settings) ([]replication.RegionOptions, error) {
	if len(s.Regions) > 0 && s.Region == "" {
		return nil, errors.New("replication.regions needs this region's name: replication.region or --replication.region")
	}
	out := make([]replication.RegionOptions, 0, len(s.Regions))
	for _, rc := range s.Regions {
		ro := replication.RegionOptions{Name: rc.Name, URL: rc.URL, MaxLag: defaultMaxLag, MaxQueueBytes: defaultMaxQueueBytes}
		if rc.MaxLag != "" {
			if err := (durationValue{&ro.MaxLag}).Set(rc.MaxLag); err != nil {
				return nil, fmt.Errorf("replication region %q: max_lag: %w", rc.Name, err)
			}
		}
		if rc.MaxQueueBytes != "" {
			n, err := parseBytes(rc.MaxQueueBytes)
			if err != nil {
				return nil, fmt.Errorf("replication region %q: max_queue_bytes: %w", rc.Name, err)
			}
			ro.MaxQueueBytes = n
		}
		if err := rc.sendOptions(&ro); err != nil {
			return nil, err
		}
		if err := rc.HTTPClientConfig.Validate(); err != nil {
			return nil, fmt.Errorf("replication region %q: %w", rc.Name, err)
		}
		c, err := config.NewClientFromConfig(rc.HTTPClientConfig, "replication-"+rc.Name)
		if err != nil {
			return nil, fmt.Errorf("replication region %q: client: %w", rc.Name, err)
		}
		ro.Client = c
		out = append(out, ro)
	}
	return out, nil
}

// sendOptions parses the sender's keys of the region into ro.
func (rc *regionConfig) sendOptions(ro *replication.RegionOptions) error {
	if rc.Concurrency != "" {
		n, err := strconv.Atoi(rc.Concurrency)
		if err != nil || n < 1 {
			return fmt.Errorf("replication region %q: concurrency %q: want a whole number, at least 1", rc.Name, rc.Concurrency)
		}
		ro.Concurrency = n
	}
	for _, d := range []struct {
		key, v string
		to     *time.Duration
	}{{"min_backoff", rc.MinBackoff, &ro.MinBackoff}, {"max_backoff", rc.MaxBackoff, &ro.MaxBackoff}} {
		if d.v == "" {
			continue
		}
		if err := (durationValue{d.to}).Set(d.v); err != nil || *d.to <= 0 {
			return fmt.Errorf("replication region %q: %s %q: want a positive duration", rc.Name, d.key, d.v)
		}
	}
	return nil
}

// addRegions opens the outbound queues of the remote regions, if any,
// under <storage.path>/replication, and adds their senders to g. The
// returned function closes the queues, once g has returned.
func (srv *server) addRegions(g *run.Group) (func(), error) {
	regions, err := regionOptions(srv.s)
	if err != nil || len(regions) == 0 {
		return func() {}, err
	}
	pol, err := wal.ParseFsyncPolicy(srv.s.WALFsync)
	if err != nil {
		return nil, err
	}
	f, err := replication.NewForwarder(replication.ForwarderOptions{
		Region: srv.s.Region, Dir: filepath.Join(srv.s.StoragePath, "replication"), Regions: regions,
		MaxBodyBytes: int64(snappy.MaxEncodedLen(srv.s.MaxDecodedBytes)), Fsync: pol,
		Registerer: srv.reg, Logger: srv.log,
	})
	if err != nil {
		return nil, fmt.Errorf("cross-region replication: %w", err)
	}
	srv.regions = f
	ctx, cancel := context.WithCancel(context.Background())
	g.Add(func() error { return f.Run(ctx) }, func(error) { cancel() })
	srv.log.Info("cross-region replication", "region", srv.s.Region, "regions", len(regions))
	return func() {
		if err := f.Close(); err != nil {
			srv.log.Warn("closing the replication queues", "err", err)
		}
	}, nil
}

// replicate wraps the public remote-write handler with the forwarding to
// the other regions; without them it is write itself.
func (srv *server) replicate(write http.Handler) http.Handler {
	if srv.regions == nil {
		return write
	}
	return srv.regions.Wrap(write)
}

// replicationStatus serves GET /api/v1/status/replication: every remote
// region's state, lag, backlog and counters; an empty list without them.
func (srv *server) replicationStatus() http.Handler {
	if srv.regions == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"success","data":[]}`)
		})
	}
	return srv.regions.StatusHandler()
}
