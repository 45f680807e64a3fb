package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
)

// Workload holds the encoded requests of every sender, ready to be sent.
type Workload struct {
	cfg     Config
	series  int
	rounds  int
	senders []sender
	// roundSamples[r] is the number of samples in round r (replay mode);
	// nil in synthetic mode, where every round has Series samples.
	roundSamples []int64
}

// sender holds one sender's requests in the order they must be sent.
type sender struct {
	reqs []request
	// first[r] is the index in reqs of round r's first request; first has
	// rounds+1 entries.
	first []int
}

type request struct {
	body    []byte // snappy-compressed WriteRequest
	samples int
}

// Prepare validates cfg and encodes every request of a synthetic workload.
// Encoding runs on GOMAXPROCS workers, one group of series at a time.
func Prepare(cfg Config) (*Workload, error) {
	if cfg.Series <= 0 || cfg.Rounds <= 0 {
		return nil, fmt.Errorf("loadgen: need series > 0 and rounds > 0, got %d and %d", cfg.Series, cfg.Rounds)
	}
	cfg = cfg.withDefaults()
	w := &Workload{cfg: cfg, series: cfg.Series, rounds: cfg.Rounds, senders: make([]sender, cfg.Senders)}

	// A group is one request's worth of one sender's series; it yields one
	// request per round.
	type group struct{ sender, index, first, n int }
	var groups []group
	for s := range w.senders {
		owned := (cfg.Series - s + cfg.Senders - 1) / cfg.Senders
		nGroups := (owned + cfg.SamplesPerRequest - 1) / cfg.SamplesPerRequest
		w.senders[s].reqs = make([]request, nGroups*cfg.Rounds)
		w.senders[s].first = make([]int, cfg.Rounds+1)
		for r := range w.senders[s].first {
			w.senders[s].first[r] = r * nGroups
		}
		for g := range nGroups {
			n := min(cfg.SamplesPerRequest, owned-g*cfg.SamplesPerRequest)
			groups = append(groups, group{sender: s, index: g, first: g * cfg.SamplesPerRequest, n: n})
		}
	}

	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(groups)) {
		wg.Go(func() {
			var e encoder
			for {
				k := int(next.Add(1) - 1)
				if k >= len(groups) {
					return
				}
				g := groups[k]
				s := &w.senders[g.sender]
				nGroups := s.first[1]
				e.resetSeries()
				for j := range g.n {
					e.addSeries(g.sender + (g.first+j)*cfg.Senders)
				}
				for r := range cfg.Rounds {
					s.reqs[r*nGroups+g.index] = request{body: e.encodeRound(w, r), samples: g.n}
				}
			}
		})
	}
	wg.Wait()
	return w, nil
}

// encoder builds requests in reusable buffers.
type encoder struct {
	ids    []int
	lbls   []byte // encoded Label fields of every series, back to back
	offs   []int  // lbls[offs[k]:offs[k+1]] belongs to series ids[k]
	raw    []byte
	snappy []byte
}

func (e *encoder) resetSeries() {
	e.ids, e.lbls, e.offs = e.ids[:0], e.lbls[:0], append(e.offs[:0], 0)
}

func (e *encoder) addSeries(i int) {
	e.ids = append(e.ids, i)
	seriesLabels(i).Range(func(l labels.Label) {
		n := protoLen(l.Name) + protoLen(l.Value)
		e.lbls = append(e.lbls, 0x0a) // TimeSeries.labels
		e.lbls = binary.AppendUvarint(e.lbls, uint64(n))
		e.lbls = appendString(e.lbls, 0x0a, l.Name)
		e.lbls = appendString(e.lbls, 0x12, l.Value)
	})
	e.offs = append(e.offs, len(e.lbls))
}

// encodeRound returns round r of the current series as a compressed
// WriteRequest body in a buffer of its own.
func (e *encoder) encodeRound(w *Workload, r int) []byte {
	t := w.timestamp(r)
	e.raw = e.raw[:0]
	for k, i := range e.ids {
		lb := e.lbls[e.offs[k]:e.offs[k+1]]
		e.raw = appendSeries(e.raw, lb, t, seriesValue(i, w.cfg.FirstRound+r))
	}
	e.snappy = snappy.Encode(e.snappy[:cap(e.snappy)], e.raw)
	return append([]byte(nil), e.snappy...)
}

// The protobuf encoding of prometheus.WriteRequest, written by hand so that
// Prepare allocates nothing per series:
//
//	WriteRequest.timeseries = 1 (bytes)
//	TimeSeries.labels = 1 (bytes), TimeSeries.samples = 2 (bytes)
//	Label.name = 1, Label.value = 2 (strings)
//	Sample.value = 1 (fixed64 double), Sample.timestamp = 2 (varint)
func appendSeries(dst, lbls []byte, t int64, v float64) []byte {
	sampleLen := 1 + 8 + 1 + uvarintLen(uint64(t))
	tsLen := len(lbls) + 1 + uvarintLen(uint64(sampleLen)) + sampleLen
	dst = append(dst, 0x0a)
	dst = binary.AppendUvarint(dst, uint64(tsLen))
	dst = append(dst, lbls...)
	dst = append(dst, 0x12)
	dst = binary.AppendUvarint(dst, uint64(sampleLen))
	dst = append(dst, 0x09)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	dst = append(dst, 0x10)
	return binary.AppendUvarint(dst, uint64(t))
}

func appendString(dst []byte, tag byte, s string) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func protoLen(s string) int { return 1 + uvarintLen(uint64(len(s))) + len(s) }

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func (w *Workload) timestamp(r int) int64 {
	return w.cfg.Start.Add(time.Duration(r) * w.cfg.Interval).UnixMilli()
}

// Rounds returns the number of rounds: samples per series in synthetic
// mode, captured requests in replay mode.
func (w *Workload) Rounds() int { return w.rounds }

// Series returns the number of series (in replay mode, distinct label sets
// of the capture).
func (w *Workload) Series() int { return w.series }

// SamplesIn returns the number of samples in rounds [from, to).
func (w *Workload) SamplesIn(from, to int) int64 {
	from, to = max(from, 0), min(to, w.rounds)
	if from >= to {
		return 0
	}
	if w.roundSamples == nil {
		return int64(w.series) * int64(to-from)
	}
	var n int64
	for _, s := range w.roundSamples[from:to] {
		n += s
	}
	return n
}

// Labels returns the labels of synthetic series i in [0, Series()).
func (w *Workload) Labels(series int) labels.Labels { return seriesLabels(series) }

// Sample returns the timestamp in milliseconds and the value that Run sends
// for synthetic series i in round r.
func (w *Workload) Sample(series, round int) (t int64, v float64) {
	return w.timestamp(round), seriesValue(series, w.cfg.FirstRound+round)
}

var errRange = errors.New("loadgen: round range out of bounds")
