package query

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// A chunk that does not decode never disappears silently from a query.
//
//   - A raw block chunk that cannot be read (its checksum does not match,
//     its reference is out of range) is left out of the result, and the
//     query carries a warning naming the series, the block and the chunk's
//     time range, which the PromQL API returns in "warnings".
//   - Each block chunk a select returns is then checked against the index
//     that listed it: its header and first sample must decode, and that
//     sample must be at the chunk's MinTime (a chunk written wrong fails
//     here). A chunk that fails is left out with a warning in the same way.
//   - A chunk that fails later, while its samples are iterated, ends the
//     series' iteration with an error naming the series and the chunk; the
//     PromQL engine and remote read fail the query with it.
//
// Both are counted in gorilla_query_corrupt_chunks_total{source} and
// logged with the series.

// WithLogger sets the logger that reports chunks that do not decode.
// Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(q *Queryable) { q.log = l }
}

// WithRegisterer registers the queryable's metrics with reg:
// gorilla_query_corrupt_chunks_total{source="block"|"head"}. When reg
// already holds them (a second Queryable on one registry), they are shared.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(q *Queryable) { q.reg = reg }
}

// corruptChunks counts, logs and describes the chunks that do not decode.
type corruptChunks struct {
	log   *slog.Logger
	count *prometheus.CounterVec // by source: block or head
}

func newCorruptChunks(log *slog.Logger, reg prometheus.Registerer) *corruptChunks {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &corruptChunks{log: log, count: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gorilla_query_corrupt_chunks_total",
		Help: "Chunks that did not decode while a query read them, by source (block or head); each is logged with its series.",
	}, []string{"source"})}
	if reg != nil {
		if err := reg.Register(c.count); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
					c.count = existing
				}
			} else {
				log.Warn("register query metrics", "err", err)
			}
		}
	}
	return c
}

// report counts and logs one chunk of series lset that failed to decode,
// and returns the error that describes it. where names the chunk.
func (c *corruptChunks) report(source string, lset labels.Labels, where string, err error) error {
	c.count.WithLabelValues(source).Inc()
	c.log.Warn("chunk does not decode", "source", source, "series", lset.String(), "chunk", where, "err", err)
	return fmt.Errorf("series %s: %s chunk %s: %w", lset, source, where, err)
}

// reportUnreadable counts, logs and describes a block chunk that could not
// be read.
func (c *corruptChunks) reportUnreadable(ce *block.ChunkError) error {
	return c.report("block", ce.Series, fmt.Sprintf("[%d, %d] of block %s", ce.MinT, ce.MaxT, ce.Block), ce.Err)
}

// reportFailed counts and logs err when it is a block chunk that could not
// be read (a read that had to fail on it, such as a roll-up's), and returns
// err.
func (c *corruptChunks) reportFailed(err error) error {
	var ce *block.ChunkError
	if errors.As(err, &ce) {
		c.count.WithLabelValues("block").Inc()
		c.log.Warn("chunk does not decode", "source", "block", "series", ce.Series.String(), "chunk", fmt.Sprintf("[%d, %d] of block %s", ce.MinT, ce.MaxT, ce.Block), "err", ce.Err)
	}
	return err
}

// checkBlockChunks leaves out of series the chunks of block id that fail
// checkChunk, reporting each as a warning in ws. Series left without chunks
// are dropped. series is filtered in place.
func (c *corruptChunks) checkBlockChunks(series []model.ChunkSeries, id ulid.ULID, ws *annotations.Annotations) []model.ChunkSeries {
	out := series[:0]
	for _, s := range series {
		kept := s.Chunks[:0:0]
		bad := false
		for i, ch := range s.Chunks {
			err := checkChunk(ch)
			if err == nil {
				if bad {
					kept = append(kept, ch)
				}
				continue
			}
			if !bad {
				bad, kept = true, append(kept, s.Chunks[:i]...)
			}
			ws.Add(c.report("block", s.Labels, fmt.Sprintf("[%d, %d] of block %s", ch.MinT, ch.MaxT, id), err))
		}
		if bad {
			s.Chunks = kept
		}
		if len(s.Chunks) > 0 || len(s.Histograms) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// checkChunk decodes the header and first sample of c and checks that the
// sample is at c.MinT. It costs a few dozen bits, not the chunk.
func checkChunk(c model.Chunk) error {
	var it chunkenc.Iterator
	it.Reset(c.Data)
	if !it.Next() {
		if err := it.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: no samples", chunkenc.ErrCorrupt)
	}
	if t, _ := it.At(); t != c.MinT {
		return fmt.Errorf("%w: first sample at %d, the index says %d", chunkenc.ErrCorrupt, t, c.MinT)
	}
	return nil
}
