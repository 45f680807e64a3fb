package loadgen

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// PrepareCapture prepares the replay of a capture file: one round per
// captured request, sent as stored by a single sender in capture order.
// Each request is decoded once to count its samples and series; Series and
// Rounds of cfg are ignored. Labels and Sample have no meaning in this mode.
func PrepareCapture(path string, cfg Config) (*Workload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	defer f.Close()
	cfg.Senders = 1
	cfg.Rounds = 0
	cfg = cfg.withDefaults()

	var (
		s      sender
		counts []int64
		raw    []byte
		req    prompb.WriteRequest
		seen   = map[string]struct{}{}
		key    []byte
	)
	cr := model.NewCaptureReader(f)
	for {
		body, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("loadgen: read %s: %w", path, err)
		}
		if raw, err = snappy.Decode(raw[:cap(raw)], body); err != nil {
			return nil, fmt.Errorf("loadgen: %s: request %d: snappy: %w", path, len(s.reqs), err)
		}
		req.Reset()
		if err := req.Unmarshal(raw); err != nil {
			return nil, fmt.Errorf("loadgen: %s: request %d: decode: %w", path, len(s.reqs), err)
		}
		n := 0
		for _, ts := range req.Timeseries {
			n += len(ts.Samples)
			key = key[:0]
			for _, l := range ts.Labels {
				key = append(append(append(key, l.Name...), 0xff), l.Value...)
				key = append(key, 0xfe)
			}
			if _, ok := seen[string(key)]; !ok {
				seen[string(key)] = struct{}{}
			}
		}
		s.first = append(s.first, len(s.reqs))
		s.reqs = append(s.reqs, request{body: append([]byte(nil), body...), samples: n})
		counts = append(counts, int64(n))
	}
	s.first = append(s.first, len(s.reqs))
	return &Workload{
		cfg:          cfg,
		series:       len(seen),
		rounds:       len(s.reqs),
		senders:      []sender{s},
		roundSamples: counts,
	}, nil
}
